"""Throughput and latency of the classic endpoints, each as a ratio to the old services' yardstick.

Starts PostgreSQL and Redis (embedded, or the ones named by BENCH_DATABASE_URL /
BENCH_REDIS_URL), migrates a fresh database and seeds a customer with a server; then a second,
large database: the same customer among 10^5 users, 10^6 sessions, 10^5 servers, 10^6
transactions and 10^5 mail rows (bench/large_database.py's seed, about a minute; skipped with
--small-only). Under the same WSGI server and worker settings it serves side by side: the
reference (plain Flask + flask-cors answering the old /parametrs constant,
bench/reference_app.py), ours with the production rate limits, ours with rate limiting off, and
ours with the production limits on the large database. Each endpoint is driven with wrk (2
threads, 64 connections, on this same machine), interleaved: reference, then each of ours,
endpoint after endpoint, round after round, so a ratio compares runs seconds apart. Several
--server values are measured one after the other, each with its own reference. Prints median
req/s, p50/p99, the ratio to the reference and, for the large database, to the small one.
Asserts nothing.

    .venv/bin/python bench/classic_endpoints.py [--quick] [--rounds 3] [--duration 5] [--small-only]
        [--server gunicorn-sync --server granian ...] [--workers 4] [--threads 4] [--scale 1.0] [--pre-ping]

--pre-ping adds a variant with DATABASE_PRE_PING off and a read through db.session (the pool the
setting pings; the hot reads' pool never pings), to price the ping against the default.
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
# A read through db.session (Flask's cycle, the pinged pool); goal: none, it is there for --pre-ping.
SESSION_ENDPOINTS = [("GET proxy /orders", "GET", "/api/external-proxy/orders", None, True, None, None)]
VARIANTS = {"limits on": "1", "limits off": "0"}  # OXNACK_RATELIMIT_ENABLED, on the small database
NO_PING = "no pre-ping"  # limits on, DATABASE_PRE_PING off
LARGE = "large db"  # limits on, on the large database


def main() -> int:
    options = parse_arguments()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk (make bench installs it)", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        database_url, redis_url = stack.enter_context(data_servers())
        env = app_environment(database_url, redis_url, CORS_ORIGINS=ORIGIN)
        seed_small(env)
        envs = {variant: dict(env, OXNACK_RATELIMIT_ENABLED=enabled) for variant, enabled in VARIANTS.items()}
        if options.pre_ping:
            envs[NO_PING] = dict(envs["limits on"], OXNACK_DATABASE_PRE_PING="0")
        if not options.small_only:
            import large_database

            large_url = stack.enter_context(large_database.large_database(database_url))
            envs[LARGE] = app_environment(large_url, redis_url, CORS_ORIGINS=ORIGIN, RATELIMIT_ENABLED="1")
            seed_small(envs[LARGE])
            print(f"seeding the large database ({options.scale:g} x {large_database.SIZES})", file=sys.stderr,
                  flush=True)
            large_database.seed_large(large_url, options.scale)
        endpoints = ENDPOINTS + (SESSION_ENDPOINTS if options.pre_ping else [])
        results = measure(options, envs, endpoints)
    print_report(options, results, endpoints, variants=list(envs))
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
    parser.add_argument("--small-only", action="store_true", help="skip the large database")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the large database's row counts")
    parser.add_argument("--pre-ping", action="store_true", help="add DATABASE_PRE_PING off and a db.session read")
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


def measure(options, envs: dict[str, dict], endpoints=None) -> dict:
    """{(server, endpoint name, variant): [wrk result per round]}, variant "reference" included.

    `envs`: variant -> the environment ours is served with; the reference runs on the first.
    """
    endpoints = [e for e in endpoints or ENDPOINTS
                 if not options.only or any(part in e[0] for part in options.only.split(","))]
    first = next(iter(envs.values()))
    results: dict = {}
    for server in options.server:  # one server at a time: PostgreSQL allows only so many connections
        with contextlib.ExitStack() as stack:
            ports = {"reference": stack.enter_context(
                serving(server, "reference_app:app", dict(first, PYTHONPATH=str(ROOT / "bench")),
                        options.workers, options.threads))}
            for variant, env in envs.items():
                ports[variant] = stack.enter_context(serving(server, "wsgi:app", env, options.workers, options.threads))
            cookies = {variant: log_in(ports[variant], BENCH_MAIL, BENCH_PASSWORD) for variant in envs}
            for round_number in range(options.rounds):
                print(f"{server}: round {round_number + 1}/{options.rounds}", file=sys.stderr, flush=True)
                for name, method, path, body, needs_cookie, *_ in endpoints:
                    for variant in ("reference", *envs):
                        reference = variant == "reference"
                        result = run_wrk(ports[variant], "GET" if reference else method,
                                         "/parametrs" if reference else path, body=None if reference else body,
                                         cookie=cookies[variant] if needs_cookie and not reference else None,
                                         connections=options.connections, duration=options.duration, origin=ORIGIN)
                        results.setdefault((server, name, variant), []).append(result)
    return results


def summary(runs: list[dict], references: list[dict]) -> dict:
    """Medians over rounds; the ratio is the median of each round's ratio to its own reference run."""
    return {"rps": median([run["rps"] for run in runs]), "p50": median([run["p50"] for run in runs]),
            "p95": median([run["p95"] for run in runs]), "p99": median([run["p99"] for run in runs]),
            "ratio": median([run["rps"] / ref["rps"] for run, ref in zip(runs, references, strict=True)]),
            "errors": sum(run["errors"] + run["non2xx"] for run in runs)}


def print_report(options, results: dict, endpoints=None, title: str = "", variants=tuple(VARIANTS)) -> None:
    endpoints = endpoints or ENDPOINTS
    print(f"\n{title}{options.connections} connections, wrk 2 threads, {options.rounds} x {options.duration:g} s "
          f"interleaved; {options.workers} workers, {options.threads} threads where the server has them; "
          f"'{LARGE}': rate limits on, on the large database")
    for server in options.server:
        print(f"\n{server}")
        print(f"{'endpoint':20} {'rate limits':>11} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6} "
              f"{'errors':>6}  goal")
        for name, *_, goal_ratio, goal_p99 in endpoints:
            if (server, name, "reference") not in results:
                continue
            references = results[server, name, "reference"]
            for variant in variants:
                line = summary(results[server, name, variant], references)
                if goal_ratio is None:
                    goal = "none"
                else:
                    met = line["ratio"] >= goal_ratio and (goal_p99 is None or line["p99"] <= goal_p99)
                    goal = f">= {goal_ratio:.1f}x" + (f", p99 <= {goal_p99} ms" if goal_p99 else "")
                    goal += " met" if met else " MISSED"
                if variant == NO_PING:  # what the ping costs: the same endpoint with it on
                    pinged = summary(results[server, name, "limits on"], results[server, name, variant])["ratio"]
                    goal += f"; with pre-ping {pinged:.2f}x this"
                if variant == LARGE:  # the cost of the work grown: the same endpoint on the small database
                    small = summary(results[server, name, variant], results[server, name, "limits on"])["ratio"]
                    goal += f"; {small:.2f}x the small db, within 10 % {'met' if small >= 0.9 else 'MISSED'}"
                print(f"{name:20} {variant:>11} {line['rps']:>8.0f} {line['p50']:>7.1f} {line['p99']:>7.1f} "
                      f"{line['ratio']:>5.2f}x {line['errors']:>6}  {goal}")
        everything = [run for (s, _, variant), runs in results.items() if s == server and variant == "reference"
                      for run in runs]
        print(f"{'reference /parametrs':20} {'':>11} {median([r['rps'] for r in everything]):>8.0f} "
              f"{median([r['p50'] for r in everything]):>7.1f} {median([r['p99'] for r in everything]):>7.1f} "
              f"{1:>5.2f}x")


if __name__ == "__main__":
    sys.exit(main())
