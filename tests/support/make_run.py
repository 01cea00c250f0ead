"""`make run`'s entry point (scripts/devstack.py) as an operator starts it, on free ports, its output in a file."""
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.support.gunicorn import ROOT, free_port

# Variables of the test's own environment that would configure the app under test.
CONFIGURING = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")


@dataclass
class MakeRun:
    """A running `make run`: its base URL and its output so far."""

    url: str
    log_file: Path

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def logged(self, prefix: str) -> str:
        """The rest of the `[make run] <prefix>` line."""
        found = re.search(rf"^\[make run\] {re.escape(prefix)}(.*)$", self.log(), re.MULTILINE)
        assert found, f"no line '[make run] {prefix}' in:\n{self.log()[-3000:]}"
        return found.group(1).strip()


@contextlib.contextmanager
def make_run(folder: Path, database_url: str, redis_url: str, **environment: str) -> Iterator[MakeRun]:
    """Start scripts/devstack.py with the test's servers and `environment` (OXNACK_* variables); stop it at the end.

    The instance config file is a new one in `folder` (OXNACK_CONFIG), written by devstack as on a first run.
    """
    web_port, console_port, relay_port = free_port(), free_port(), free_port()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("OXNACK_") and name not in CONFIGURING}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, OXNACK_CONFIG=str(folder / "config.py"),
               MAKE_RUN_PORTS=f"{web_port},{console_port}", OXNACK_MAIL_RELAY_BIND=f"127.0.0.1:{relay_port}",
               **environment)
    log_file = folder / "make-run.log"
    with log_file.open("w") as output:
        process = subprocess.Popen([sys.executable, "scripts/devstack.py"], cwd=ROOT, env=env, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    running = MakeRun(f"http://127.0.0.1:{web_port}", log_file)
    try:
        wait_until(lambda: "Oxnack Admin is up" in running.log(), process, running, "the app to come up")
        yield running
    finally:
        _stop(process)


def wait_until(condition: Callable[[], object], process: subprocess.Popen | None, running: MakeRun, what: str,
               timeout: float = 60):
    """Poll `condition` until it is truthy; fail naming `what`, with the log, if make run exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if process is not None and process.poll() is not None:
            raise AssertionError(f"make run exited ({process.returncode}) before {what}:\n{running.log()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}:\n{running.log()[-3000:]}")
        time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    """Ctrl-C as the operator would; whatever it started and left running is ended by its id."""
    try:
        started = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        started = []
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for child in started:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
