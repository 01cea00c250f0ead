"""Throughput and latency of the classic endpoints, each as a ratio to the old services' yardstick.

Starts PostgreSQL and Redis (embedded, or the ones named by BENCH_DATABASE_URL /
BENCH_REDIS_URL), migrates a fresh database and seeds a customer with a server. Then, under
the same WSGI server and worker settings, serves three apps side by side: the reference (plain
Flask + flask-cors answering the old /parametrs constant, bench/reference_app.py), ours with
the production rate limits, and ours with rate limiting off. Each endpoint is driven with wrk
(2 threads, 64 connections, on this same machine), interleaved: reference, ours (limits on),
ours (limits off), endpoint after endpoint, round after round, so a ratio compares runs
seconds apart. Several --server values are measured one after the other, each with its own
reference. Prints median req/s, p50/p99 and the ratio to the reference. Asserts nothing.

    .venv/bin/python bench/classic_endpoints.py [--quick] [--rounds 2] [--duration 5]
        [--server gunicorn-sync --server granian ...] [--workers 4] [--threads 4]
"""
import argparse
import contextlib
import shutil
import subprocess
import sys

from harness import APP_ROOT, ROOT, SERVERS, app_environment, data_servers, log_in, median, run_wrk, serving

BENCH_MAIL, BENCH_PASSWORD = "bench@example.com", "BenchPass1"
ORIGIN = "http://localhost:8080"
# (name, method, path, body, needs the session cookie, goal: minimum ratio, p99 ceiling in ms)
ENDPOINTS = [
    ("GET /get_balance", "GET", "/get_balance", None, True, 0.6, 60),
    ("GET /get_mail", "GET", "/get_mail", None, True, 0.6, 60),
    ("GET /user_services", "GET", "/user_services", None, True, 0.6, 60),
    ("GET /parametrs", "GET", "/parametrs", None, False, 1.0, None),
    ("GET /countries", "GET", "/countries", None, False, 1.0, None),
    ("GET /osystems", "GET", "/osystems", None, False, 1.0, None),
    ("POST /calc_price", "POST", "/calc_price", {"core": 2, "ram": 2, "ssd": 20, "promo": "NOT"}, False, 1.0, None),
]
VARIANTS = {"limits on": "1", "limits off": "0"}  # OXNACK_RATELIMIT_ENABLED


def main() -> int:
    options = parse_arguments()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    with data_servers() as (database_url, redis_url):
        env = app_environment(database_url, redis_url, CORS_ORIGINS=ORIGIN)
        seed_small(env)
        results = measure(options, env)
    print_report(options, results)
    return 0


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round of 2 s runs (a smoke run, noisier)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are printed")
    parser.add_argument("--duration", type=float, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--server", action="append", choices=sorted(SERVERS),
                        help="WSGI server(s) to compare (repeatable); default: gunicorn-sync")
    parser.add_argument("--workers", type=int, default=4, help="worker processes of every server")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread, granian)")
    parser.add_argument("--only", default="", help="comma-separated substrings of endpoint names to run")
    options = parser.parse_args(argv)
    options.server = options.server or ["gunicorn-sync"]
    if options.quick:
        options.rounds, options.duration = 1, 2
    return options


def seed_small(env: dict) -> None:
    """Migrate, then seed one verified customer who owns a server."""
    script = f"""
from flask_migrate import upgrade
from oxnack_admin import create_app
from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import Server, User
from oxnack_admin.services.accounts.passwords import hash_password
app = create_app()
with app.app_context():
    upgrade()
    redis_client.flushdb()
    user = User(mail={BENCH_MAIL!r}, passwd_hash=hash_password({BENCH_PASSWORD!r}), is_verified=True, balance=500)
    db.session.add(user); db.session.flush(); user.username = format(user.id, "x")
    db.session.add(Server(id=900, os="ubuntu", cores=2, ram=2, hdd=20, ips=["203.0.113.90"], status="on",
                          busy=True, username=user.username, country="russia"))
    db.session.commit()
"""
    subprocess.run([sys.executable, "-c", script], env=env, cwd=APP_ROOT, check=True, stdout=subprocess.DEVNULL)


def measure(options, env: dict, endpoints=None) -> dict:
    """{(server, endpoint name, variant): [wrk result per round]}, variant "reference" included."""
    endpoints = [e for e in endpoints or ENDPOINTS
                 if not options.only or any(part in e[0] for part in options.only.split(","))]
    results: dict = {}
    for server in options.server:  # one server at a time: PostgreSQL allows only so many connections
        with contextlib.ExitStack() as stack:
            ports = {"reference": stack.enter_context(
                serving(server, "reference_app:app", dict(env, PYTHONPATH=str(ROOT / "bench")),
                        options.workers, options.threads))}
            for variant, enabled in VARIANTS.items():
                ports[variant] = stack.enter_context(
                    serving(server, "wsgi:app", dict(env, OXNACK_RATELIMIT_ENABLED=enabled),
                            options.workers, options.threads))
            cookie = log_in(ports["limits off"], BENCH_MAIL, BENCH_PASSWORD)
            for round_number in range(options.rounds):
                print(f"{server}: round {round_number + 1}/{options.rounds}", file=sys.stderr, flush=True)
                for name, method, path, body, needs_cookie, *_ in endpoints:
                    for variant in ("reference", *VARIANTS):
                        reference = variant == "reference"
                        result = run_wrk(ports[variant], "GET" if reference else method,
                                         "/parametrs" if reference else path, body=None if reference else body,
                                         cookie=cookie if needs_cookie and not reference else None,
                                         connections=options.connections, duration=options.duration, origin=ORIGIN)
                        results.setdefault((server, name, variant), []).append(result)
    return results


def summary(runs: list[dict], references: list[dict]) -> dict:
    """Medians over rounds; the ratio is the median of each round's ratio to its own reference run."""
    return {"rps": median([run["rps"] for run in runs]), "p50": median([run["p50"] for run in runs]),
            "p95": median([run["p95"] for run in runs]), "p99": median([run["p99"] for run in runs]),
            "ratio": median([run["rps"] / ref["rps"] for run, ref in zip(runs, references)]),
            "errors": sum(run["errors"] + run["non2xx"] for run in runs)}


def print_report(options, results: dict, endpoints=None, title: str = "") -> None:
    endpoints = endpoints or ENDPOINTS
    print(f"\n{title}{options.connections} connections, wrk 2 threads, {options.rounds} x {options.duration:g} s "
          f"interleaved; {options.workers} workers, {options.threads} threads where the server has them")
    for server in options.server:
        print(f"\n{server}")
        print(f"{'endpoint':20} {'rate limits':>11} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6} "
              f"{'errors':>6}  goal")
        for name, *_, goal_ratio, goal_p99 in endpoints:
            if (server, name, "reference") not in results:
                continue
            references = results[server, name, "reference"]
            for variant in VARIANTS:
                line = summary(results[server, name, variant], references)
                met = line["ratio"] >= goal_ratio and (goal_p99 is None or line["p99"] <= goal_p99)
                goal = f">= {goal_ratio:.1f}x" + (f", p99 <= {goal_p99} ms" if goal_p99 else "")
                print(f"{name:20} {variant:>11} {line['rps']:>8.0f} {line['p50']:>7.1f} {line['p99']:>7.1f} "
                      f"{line['ratio']:>5.2f}x {line['errors']:>6}  {goal} {'met' if met else 'MISSED'}")
        everything = [run for (s, _, variant), runs in results.items() if s == server and variant == "reference"
                      for run in runs]
        print(f"{'reference /parametrs':20} {'':>11} {median([r['rps'] for r in everything]):>8.0f} "
              f"{median([r['p50'] for r in everything]):>7.1f} {median([r['p99'] for r in everything]):>7.1f} "
              f"{1:>5.2f}x")


if __name__ == "__main__":
    sys.exit(main())
