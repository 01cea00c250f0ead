"""gunicorn as production runs it (gunicorn.conf.py, gthread workers), on free loopback ports."""
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def run_gunicorn(database_url: str, redis_url: str, ports: list[int], *, gunicorn_args: tuple[str, ...] = (),
                 environ: dict | None = None, **settings) -> Iterator[subprocess.Popen]:
    """Serve wsgi:app on 127.0.0.1 at every port of `ports`; settings become OXNACK_<NAME> variables.

    `gunicorn_args` come after the defaults (a later --workers wins); `environ` adds variables."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "gunicorn-test-key",
           "OXNACK_ENV": "development", "OXNACK_CONFIG": str(ROOT / "tests" / "no-such-config.py"),
           "OXNACK_COOKIE_SECURE": "0", "OXNACK_RATELIMIT_ENABLED": "0", "OXNACK_HYPERVISOR": "simulator",
           "OXNACK_SMTP_HOST": "", **{f"OXNACK_{name}": str(value) for name, value in settings.items()}, **(environ or {})}
    binds = [arg for port in ports for arg in ("-b", f"127.0.0.1:{port}")]
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                                "--workers", "1", "--threads", "4", "--keep-alive", "30", *gunicorn_args, *binds,
                                "wsgi:app"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_until_up(process, ports[0])
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(process: subprocess.Popen, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {process.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/countries", timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not come up")
