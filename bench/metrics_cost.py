"""What /metrics costs the hot reads: the same endpoints with METRICS_ENABLED on (multiprocess mode,
as gunicorn.conf.py runs it) and off, interleaved round after round, as a ratio on/off.

Reuses classic_endpoints.py's servers, seeding and wrk runs (the reference app runs too, as there).
Asserts nothing.

    .venv/bin/python bench/metrics_cost.py [--quick] [--rounds 2] [--duration 3] [--server gunicorn-sync]
"""
import contextlib
import shutil
import sys
import tempfile

from classic_endpoints import ENDPOINTS, measure, parse_arguments, seed_small, summary
from harness import app_environment, data_servers

ORIGIN = "http://localhost:8080"
HOT = [e for e in ENDPOINTS if e[0] in ("GET /parametrs", "GET /get_balance", "POST /calc_price")]


def main() -> int:
    options = parse_arguments(sys.argv[1:] + ["--small-only"])
    if "--rounds" not in sys.argv and not options.quick:
        options.rounds, options.duration = 2, 3  # keeps `make bench` short; pass --rounds/--duration for more
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk (make bench installs it)", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        database_url, redis_url = stack.enter_context(data_servers())
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="oxnack-bench-metrics-"))
        env = app_environment(database_url, redis_url, CORS_ORIGINS=ORIGIN, RATELIMIT_ENABLED="0")
        seed_small(env)
        envs = {"metrics off": dict(env, OXNACK_METRICS_ENABLED="0"),
                "metrics on": dict(env, OXNACK_METRICS_ENABLED="1", PROMETHEUS_MULTIPROC_DIR=folder)}
        results = measure(options, envs, HOT)
    print(f"\n/metrics cost on the hot reads: {options.rounds} x {options.duration:g} s interleaved, "
          f"{options.connections} connections, {options.workers} workers")
    print(f"{'endpoint':20} {'off req/s':>9} {'on req/s':>9} {'on/off':>7} {'p99 off':>8} {'p99 on':>7}")
    for server in options.server:
        for name, *_ in HOT:
            off = summary(results[server, name, "metrics off"], results[server, name, "reference"])
            on = summary(results[server, name, "metrics on"], results[server, name, "reference"])
            print(f"{name:20} {off['rps']:>9.0f} {on['rps']:>9.0f} {on['ratio'] / off['ratio']:>6.2f}x "
                  f"{off['p99']:>8.1f} {on['p99']:>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
