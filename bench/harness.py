"""What every bench shares: PostgreSQL/Redis for the run, WSGI servers on free ports, wrk runs."""
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The app served and measured: this checkout, or another one (e.g. an older commit, for before/after).
APP_ROOT = Path(os.environ.get("BENCH_APP_ROOT", ROOT)).resolve()

from tests.support.servers import fresh_database, postgres_server, redis_server  # noqa: E402

# name -> how to serve `target` on `port` with `workers` processes (and `threads` each where it applies)
SERVERS = {
    "gunicorn-sync": lambda target, port, workers, threads: [
        sys.executable, "-m", "gunicorn", "--workers", str(workers), "-b", f"127.0.0.1:{port}",
        "--log-level", "warning", target],
    "gunicorn-gthread": lambda target, port, workers, threads: [
        sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "gthread",
        "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning", target],
    "granian": lambda target, port, workers, threads: [
        sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", str(workers),
        "--blocking-threads", str(threads), "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--no-ws", target],
}


@contextlib.contextmanager
def data_servers():
    """(database URL, Redis URL): BENCH_DATABASE_URL / BENCH_REDIS_URL, else embedded ones; a fresh database."""
    with contextlib.ExitStack() as stack:
        if os.environ.get("BENCH_DATABASE_URL"):
            os.environ["OXNACK_TEST_DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
        if os.environ.get("BENCH_REDIS_URL"):
            os.environ["OXNACK_TEST_REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
        server_url = stack.enter_context(postgres_server())
        database_url = stack.enter_context(fresh_database(server_url))
        redis_url = stack.enter_context(redis_server())
        yield database_url, redis_url


def app_environment(database_url: str, redis_url: str, **settings) -> dict:
    """Production defaults, except what cannot be production on a bench (secret, plain-http cookie)."""
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, OXNACK_ENV="development",
               SECRET_KEY="bench-secret", OXNACK_COOKIE_SECURE="0", OXNACK_CONFIG="/nonexistent/bench-config.py",
               OXNACK_LOG_LEVEL="WARNING")
    env.update({f"OXNACK_{name}": value for name, value in settings.items()})
    return env


@contextlib.contextmanager
def serving(server: str, target: str, env: dict, workers: int, threads: int):
    """Serve the WSGI `target` ("module:app") with `server`; yields the port."""
    port = free_port()
    process = subprocess.Popen(SERVERS[server](target, port, workers, threads), env=env, cwd=APP_ROOT)
    try:
        wait_until_up(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # granian waits for idle keep-alive connections
            process.kill()
            process.wait(timeout=10)


def wait_until_up(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not come up")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def log_in(port: int, mail: str, password: str) -> str:
    """A real session cookie, got over HTTP as the site gets it."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/login", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"mail": mail, "passwd": password}).encode())
    with urllib.request.urlopen(request) as response:
        cookie = response.headers["Set-Cookie"]
    return re.search(r"session_id=([^;]+)", cookie).group(1)


WRK_SCRIPT = """
wrk.method = "{method}"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Origin"] = "{origin}"
{cookie}
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %f %f %f %f %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
"""


def run_wrk(port: int, method: str, path: str, *, body=None, cookie: str | None = None, connections: int = 64,
            duration: float = 10, origin: str = "http://localhost:8080", raw_cookie: str | None = None) -> dict:
    """req/s, p50/p95/p99 in ms, socket errors and non-2xx/3xx answers of one wrk run (2 threads)."""
    cookie = f"session_id={cookie}" if cookie else raw_cookie
    lua = WRK_SCRIPT.format(method=method, body=json.dumps(json.dumps(body)) if body else "nil", origin=origin,
                            cookie=f'wrk.headers["Cookie"] = {json.dumps(cookie)}' if cookie else "")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        output = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{duration:g}s", "--timeout", "5s", "-s", script.name,
             f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    requests, micros, p50, p95, p99, errors, bad = re.search(
        r"RESULT (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+) (\d+)", output).groups()
    return {"rps": int(requests) / (float(micros) / 1e6), "p50": float(p50) / 1000, "p95": float(p95) / 1000,
            "p99": float(p99) / 1000, "errors": int(errors), "non2xx": int(bad)}


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
