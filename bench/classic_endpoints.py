"""Throughput and latency of the classic endpoints under gunicorn, measured with wrk.

Starts PostgreSQL and Redis (embedded, or the ones named by BENCH_DATABASE_URL /
BENCH_REDIS_URL), migrates a fresh database, seeds a customer with a server, logs in over
HTTP for a real session cookie, starts gunicorn (4 workers, rate limits off as for any load
test) and drives each endpoint for DURATION seconds at 16 and 64 connections with wrk
(2 threads, on this same machine). Prints requests/s and p50/p99 latency. Asserts nothing.

    .venv/bin/python bench/classic_endpoints.py [--duration 10] [--workers 4]
"""
import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.servers import fresh_database, postgres_server, redis_server  # noqa: E402

ENDPOINTS = [  # (name, method, path, body, needs the session cookie)
    ("GET /get_balance", "GET", "/get_balance", None, True),
    ("GET /parametrs", "GET", "/parametrs", None, False),
    ("POST /calc_price", "POST", "/calc_price", {"core": 2, "ram": 2, "ssd": 20}, False),
    ("GET /user_services", "GET", "/user_services", None, True),
]
CONNECTIONS = (16, 64)
BENCH_MAIL, BENCH_PASSWORD = "bench@example.com", "BenchPass1"


def main() -> int:
    options = parse_arguments()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    with servers() as (database_url, redis_url):
        env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, OXNACK_ENV="development",
                   SECRET_KEY="bench-secret", OXNACK_RATELIMIT_ENABLED="0", OXNACK_COOKIE_SECURE="0",
                   OXNACK_CONFIG="/nonexistent/bench-config.py")
        prepare_database(env)
        port = free_port()
        with gunicorn(env, port, options.workers, options.threads):
            cookie = log_in(port)
            print(f"gunicorn: {options.workers} workers x {options.threads} threads; "
                  f"wrk: 2 threads, {options.duration} s per run\n")
            print(f"{'endpoint':22} {'conns':>5} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
            for name, method, path, body, needs_cookie in ENDPOINTS:
                for connections in CONNECTIONS:
                    result = run_wrk(port, method, path, body, cookie if needs_cookie else None,
                                     connections, options.duration)
                    print(f"{name:22} {connections:>5} {result['rps']:>10.0f} {result['p50']:>8.1f} "
                          f"{result['p99']:>8.1f} {result['errors']:>7}", flush=True)
    return 0


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint and connection count")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per worker (gthread, keeps connections alive); 1 = sync workers")
    return parser.parse_args()


@contextlib.contextmanager
def servers():
    with contextlib.ExitStack() as stack:
        if os.environ.get("BENCH_DATABASE_URL"):
            os.environ["OXNACK_TEST_DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
        if os.environ.get("BENCH_REDIS_URL"):
            os.environ["OXNACK_TEST_REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
        server_url = stack.enter_context(postgres_server())
        database_url = stack.enter_context(fresh_database(server_url))
        redis_url = stack.enter_context(redis_server())
        yield database_url, redis_url


def prepare_database(env: dict) -> None:
    """Migrate, then seed one verified customer who owns a server."""
    script = f"""
from flask_migrate import upgrade
from oxnack_admin import create_app
from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import Server, User
from oxnack_admin.services.passwords import hash_password
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
    subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def gunicorn(env: dict, port: int, workers: int, threads: int):
    worker_class = ["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else []
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), *worker_class, "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"],
        env=env, cwd=ROOT)
    try:
        wait_until_up(port)
        yield
    finally:
        process.terminate()
        process.wait(timeout=20)


def wait_until_up(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not come up")


def log_in(port: int) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/login", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"mail": BENCH_MAIL, "passwd": BENCH_PASSWORD}).encode())
    with urllib.request.urlopen(request) as response:
        cookie = response.headers["Set-Cookie"]
    return re.search(r"session_id=([^;]+)", cookie).group(1)


WRK_SCRIPT = """
wrk.method = "{method}"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{cookie}
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %f %f %f %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
"""


def run_wrk(port, method, path, body, cookie, connections, duration) -> dict:
    lua = WRK_SCRIPT.format(method=method, body=json.dumps(json.dumps(body)) if body else "nil",
                            cookie=f'wrk.headers["Cookie"] = "session_id={cookie}"' if cookie else "")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        output = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "5s", "-s", script.name,
             f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    requests, micros, p50, p99, errors = re.search(r"RESULT (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", output).groups()
    return {"rps": int(requests) / (float(micros) / 1e6), "p50": float(p50) / 1000, "p99": float(p99) / 1000,
            "errors": int(errors)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
