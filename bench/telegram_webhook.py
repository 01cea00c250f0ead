"""Updates per second POST /telegram/webhook accepts under load while a worker is busy handling them,
as a ratio to GET /health on the same server in the same run (interleaved, round after round).

Each request is a fresh update (wrk's Lua numbers them: no two alike, so every one is stored and
queued, none dropped as a repeat) carrying the secret header, from 5,000 chats writing /start. A
real `flask worker telegram` handles the queued updates meanwhile (the bot answers each through
the outbox to a Bot API simulator in this process), so the webhook shares the machine with it.
Prints req/s, p50/p99, the ratio, and how many updates the worker handled. Asserts nothing.

    .venv/bin/python bench/telegram_webhook.py [--quick] [--rounds 2] [--duration 3] [--workers 4]
"""
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from classic_endpoints import parse_arguments
from harness import APP_ROOT, app_environment, data_servers, median, run_wrk, serving

sys.path.insert(0, str(APP_ROOT))
from oxnack_admin.simulator.telegram import TelegramSimulator  # the app package, found through sys.path above

SECRET = "bench-webhook-secret"
LUA = """
local counter = 0
local threads = 0
setup = function(thread)
  thread:set("base", threads * 100000000)
  threads = threads + 1
end
init = function(args) offset = tonumber(args[1]) end
request = function()
  counter = counter + 1
  local id = offset + base + counter
  local chat = 1000000 + (id % 5000)
  local body = string.format('{"update_id":%d,"message":{"message_id":%d,"date":0,"chat":{"id":%d,"type":"private"},'
    .. '"from":{"id":%d,"is_bot":false,"first_name":"Bench"},"text":"/start"}}', id, id, chat, chat)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
    ["X-Telegram-Bot-Api-Secret-Token"] = "SECRET"}, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %f %f %f %f %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
""".replace("SECRET", SECRET)


def run_webhook(port: int, connections: int, duration: float, offset: int) -> dict:
    """One wrk run of fresh updates; the same figures as harness.run_wrk."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    try:
        output = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{duration:g}s", "--timeout", "5s", "-s", script.name,
             f"http://127.0.0.1:{port}/telegram/webhook", "--", str(offset)],
            capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    requests, micros, p50, _, p99, errors, bad = re.search(
        r"RESULT (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+) (\d+)", output).groups()
    return {"rps": int(requests) / (float(micros) / 1e6), "p50": float(p50) / 1000, "p99": float(p99) / 1000,
            "errors": int(errors) + int(bad), "requests": int(requests)}


def migrate(env: dict) -> None:
    script = "from flask_migrate import upgrade\nfrom oxnack_admin import create_app\nwith create_app().app_context(): upgrade()"
    subprocess.run([sys.executable, "-c", script], env=env, cwd=APP_ROOT, check=True, stdout=subprocess.DEVNULL)


def handled(env: dict) -> int:
    script = ("from sqlalchemy import text\nfrom oxnack_admin import create_app\nfrom oxnack_admin.extensions import db\n"
              "with create_app().app_context(): print(db.session.execute(text("
              "\"SELECT count(*) FROM telegram_updates WHERE state = 'handled'\")).scalar())")
    return int(subprocess.run([sys.executable, "-c", script], env=env, cwd=APP_ROOT, check=True,
                              capture_output=True, text=True).stdout.strip())


def main() -> int:
    options = parse_arguments(sys.argv[1:] + ["--small-only"])
    if "--rounds" not in sys.argv and not options.quick:
        options.rounds, options.duration = 2, 3  # keeps `make bench` short; pass --rounds/--duration for more
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk (make bench installs it)", file=sys.stderr)
        return 2
    runs: dict[str, list[dict]] = {"health": [], "webhook": []}
    with contextlib.ExitStack() as stack:
        database_url, redis_url = stack.enter_context(data_servers())
        telegram = stack.enter_context(TelegramSimulator("4242:bench-token"))
        env = app_environment(database_url, redis_url, RATELIMIT_ENABLED="0", TELEGRAM_BOT_TOKEN=telegram.token,
                              TELEGRAM_API_URL=telegram.url, TELEGRAM_WEBHOOK_SECRET=SECRET)
        migrate(env)
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi:app", "worker", "telegram",
                                   "--no-scheduler"], env=env, cwd=APP_ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        stack.callback(lambda: (worker.terminate(), worker.wait(timeout=30)))
        server = options.server[0]
        port = stack.enter_context(serving(server, "wsgi:app", env, options.workers, options.threads))
        for round_number in range(options.rounds):
            print(f"{server}: round {round_number + 1}/{options.rounds}", file=sys.stderr, flush=True)
            runs["health"].append(run_wrk(port, "GET", "/health", connections=options.connections,
                                          duration=options.duration))
            runs["webhook"].append(run_webhook(port, options.connections, options.duration,
                                               (round_number + 1) * 1_000_000_000))
        done = handled(env)
    accepted = sum(run["requests"] for run in runs["webhook"])
    ratio = median([w["rps"] / h["rps"] for w, h in zip(runs["webhook"], runs["health"], strict=True)])
    print(f"\nPOST /telegram/webhook with a worker handling the updates: {server}, {options.workers} workers, "
          f"{options.connections} connections, {options.rounds} x {options.duration:g} s interleaved with GET /health")
    print(f"{'endpoint':24} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>7}")
    for name, label in (("health", "GET /health"), ("webhook", "POST /telegram/webhook")):
        print(f"{label:24} {median([r['rps'] for r in runs[name]]):>8.0f} {median([r['p50'] for r in runs[name]]):>7.1f} "
              f"{median([r['p99'] for r in runs[name]]):>7.1f} {sum(r['errors'] for r in runs[name]):>7}")
    print(f"webhook / health: {ratio:.2f}x; updates accepted {accepted}, handled by the worker meanwhile {done}; "
          f"bot answers sent to the simulator {len(telegram.api_calls('sendMessage'))}")
    print(json.dumps({"webhook_rps": round(median([r["rps"] for r in runs["webhook"]])), "ratio_to_health": round(ratio, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
