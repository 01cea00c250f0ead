"""A newsletter's pace: real RQ workers send to a few hundred customers on the Bot API simulator; the
simulator's own timestamps give the throughput, the most messages in any one second, and per-chat gaps.

Two runs in the same process and machine: the reference with no pace at all (what the workers can
do here), then with TELEGRAM_BROADCAST_RATE. Printed: throughput / rate (how close the pace stays
to what is configured) and the busiest second / rate (must never exceed 1.00). Asserts nothing.

    .venv/bin/python bench/newsletter_pace.py [--quick] [--rate 100] [--recipients 600] [--workers 3]
"""
import argparse
import contextlib
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness import app_environment, data_servers  # noqa: E402

from oxnack_admin.simulator.telegram import TelegramSimulator  # noqa: E402

FIRST_TG = 8_000_000


def busiest_second(times: list[float]) -> int:
    times, best, start = sorted(times), 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def seed(env: dict, recipients: int) -> None:
    script = f"""
from flask_migrate import upgrade
from oxnack_admin import create_app
from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import Staff, User
app = create_app()
with app.app_context():
    upgrade()
    redis_client.flushdb()
    users = [User(mail=f"reader{{n}}@example.com", passwd_hash="x", is_verified=True, tg_id={FIRST_TG} + n)
             for n in range({recipients})]
    db.session.add_all(users); db.session.flush()
    for user in users:
        user.username = format(user.id, "x")
    db.session.add(Staff(email="bench@oxnack.test", password_hash="x", role="owner"))
    db.session.commit()
"""
    subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def send_newsletter(env: dict, workers: int) -> float:
    """Start a Telegram newsletter to everyone and run `workers` burst workers until it is done; wall seconds."""
    script = """
from oxnack_admin import create_app
from oxnack_admin.extensions import db
from oxnack_admin.models import Staff
from oxnack_admin.services.support import newsletters
app = create_app()
with app.app_context():
    staff = db.session.query(Staff).first()
    newsletter = newsletters.create(staff, "Bench", "<b>Bench</b> newsletter", "all", None, "telegram")
    newsletters.start(newsletter, staff)
"""
    subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    started = time.monotonic()
    processes = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst", "telegram"],
                                  env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(workers)]
    for process in processes:
        process.wait()
    return time.monotonic() - started


def run(database_url: str, redis_url: str, rate: int, options) -> dict:
    simulator = TelegramSimulator().start()
    try:
        env = app_environment(database_url, redis_url, TELEGRAM_BOT_TOKEN=simulator.token,
                              TELEGRAM_API_URL=simulator.url, TELEGRAM_BROADCAST_RATE=str(rate),
                              NEWSLETTER_SENDERS=str(options.workers))
        send_newsletter(env, options.workers)
        calls = simulator.api_calls("sendMessage")
    finally:
        simulator.stop()
    times = sorted(call.at for call in calls)
    per_chat = defaultdict(list)
    for call in calls:
        per_chat[call.body["chat_id"]].append(call.at)
    gaps = [b - a for ts in per_chat.values() for a, b in zip(sorted(ts), sorted(ts)[1:], strict=False)]
    span = (times[-1] - times[0]) if len(times) > 1 else 0.0
    return {"sent": len(calls), "chats": len(per_chat), "span": span,
            "throughput": (len(calls) - 1) / span if span else float("nan"), "busiest": busiest_second(times),
            "min_gap": min(gaps) if gaps else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer recipients")
    parser.add_argument("--rate", type=int, default=100, help="TELEGRAM_BROADCAST_RATE of the paced run")
    parser.add_argument("--recipients", type=int, default=None)
    parser.add_argument("--workers", type=int, default=3)
    options, _ = parser.parse_known_args()  # `make bench` passes the other benches' BENCH_ARGS too
    recipients = options.recipients or (200 if options.quick else 600)
    with contextlib.ExitStack() as stack:
        database_url, redis_url = stack.enter_context(data_servers())
        seed(app_environment(database_url, redis_url), recipients)
        reference = run(database_url, redis_url, 1_000_000, options)
        paced = run(database_url, redis_url, options.rate, options)
    print(f"\nNewsletter pace: {recipients} Telegram recipients, {options.workers} workers, "
          f"Bot API simulator on loopback")
    print(f"{'run':22} {'sent':>5} {'msg/s':>7} {'busiest 1 s':>11} {'min gap/chat':>12} {'vs rate':>8} {'busiest/rate':>12}")
    for name, result, rate in (("reference (no pace)", reference, None), (f"rate {options.rate}/s", paced, options.rate)):
        gap = f"{result['min_gap']:.2f} s" if result["min_gap"] is not None else "one each"
        ratio = f"{result['throughput'] / rate:.2f}" if rate else "—"
        busiest = f"{result['busiest'] / rate:.2f}" if rate else "—"
        print(f"{name:22} {result['sent']:>5} {result['throughput']:>7.1f} {result['busiest']:>11} {gap:>12} "
              f"{ratio:>8} {busiest:>12}")
    print(f"paced / unpaced throughput: {paced['throughput'] / reference['throughput']:.2f} "
          f"(the pace only bites when the workers could go faster than {options.rate}/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
