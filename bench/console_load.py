"""The classic endpoints' req/s with 20 browser consoles open against none, as a ratio measured in one run.

Serves the app as production does (gunicorn -c gunicorn.conf.py, sync workers unless --threads > 1)
against a Proxmox simulator in this process. Each round measures every endpoint with wrk with no
console open, then opens the consoles as a browser does (POST /console_link, the noVNC page, its
WebSocket, the RFB handshake with the ticket) and keeps them busy like noVNC (an incremental
update request after every update; the simulator's clock redraws a row every second), measures
the endpoints again and closes the consoles. Prints median req/s and p99 both ways, the ratio
(with consoles / without) and the updates the consoles received meanwhile. Asserts nothing.

    .venv/bin/python bench/console_load.py [--quick] [--rounds 2] [--duration 3] [--consoles 20]
        [--workers 4] [--threads 1]
"""
import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import threading
import urllib.request

from classic_endpoints import BENCH_MAIL, BENCH_PASSWORD, ENDPOINTS, seed_small
from harness import APP_ROOT, app_environment, data_servers, free_port, log_in, median, run_wrk, \
    wait_until_up
from websockets.sync.client import connect

from oxnack_admin.simulator.proxmox import ProxmoxSimulator
from tests.support import rfb

ORIGIN = "http://localhost:8080"
SERVER_ID = 900  # seed_small's server of the bench customer
MEASURED = [e for e in ENDPOINTS if e[0] in ("GET /parametrs", "GET /get_balance", "GET /user_services",
                                              "POST /calc_price")]


class Console(threading.Thread):
    """One open console, driven like noVNC: after each framebuffer update, ask for the next."""

    def __init__(self, port: int, cookie: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.cookie, self.stop = port, cookie, stop
        self.ready, self.updates, self.error = threading.Event(), 0, None

    def run(self) -> None:
        try:
            url, password = open_console(self.port, self.cookie)
            with connect(url, subprotocols=["binary"], open_timeout=10, max_size=None) as browser:
                desktop = rfb.handshake(browser, password)
                rfb.full_update(browser, desktop)
                self.ready.set()
                while not self.stop.is_set():
                    rfb.request_update(browser, desktop, incremental=True)
                    with contextlib.suppress(TimeoutError):
                        browser.recv(timeout=2)
                        self.updates += 1
        except Exception as error:  # reported with the figures: a console that failed measured nothing
            self.error = repr(error)
            self.ready.set()


def open_console(port: int, cookie: str) -> tuple[str, str]:
    """(WebSocket URL, RFB password) as the browser gets them: the link, then the page."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/console_link", method="POST",
                                     data=json.dumps({"server_id": SERVER_ID}).encode(),
                                     headers={"Content-Type": "application/json", "Cookie": f"session_id={cookie}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        link = json.load(answer)["url"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/vnc/{link.rsplit('/vnc/', 1)[1]}", timeout=10) as page:
        path, password = rfb.session_of(page.read().decode())
    return f"ws://127.0.0.1:{port}{path}", password


@contextlib.contextmanager
def consoles_open(port: int, cookie: str, count: int):
    """`count` consoles open and busy until the block ends; yields them."""
    stop = threading.Event()
    opened = [Console(port, cookie, stop) for _ in range(count)]
    for console in opened:
        console.start()
    for console in opened:
        console.ready.wait(30)
    try:
        yield opened
    finally:
        stop.set()
        for console in opened:
            console.join(10)


@contextlib.contextmanager
def production_gunicorn(env: dict, workers: int, threads: int):
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", str(APP_ROOT / "gunicorn.conf.py"), "--workers", str(workers),
               "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"]
    process = subprocess.Popen(command, env=env, cwd=APP_ROOT)
    try:
        wait_until_up(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round of 2 s runs (a smoke run, noisier)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=float, default=3, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--consoles", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="1: sync workers (production); more: gthread")
    options, _ = parser.parse_known_args()  # `make bench` passes the same BENCH_ARGS to every bench
    if options.quick:
        options.rounds, options.duration = 1, 2
    return options


def main() -> int:
    options = parse_arguments()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk (make bench installs it)", file=sys.stderr)
        return 2
    proxmox = ProxmoxSimulator().start()
    proxmox.add_vm(SERVER_ID, name=f"{SERVER_ID}-bench", cores=2, memory=2048, disk_gb=20, status="running")
    results: dict = {}
    received, failures = [], []
    try:
        with contextlib.ExitStack() as stack:
            database_url, redis_url = stack.enter_context(data_servers())
            env = app_environment(database_url, redis_url, CORS_ORIGINS=ORIGIN, RATELIMIT_ENABLED="0",
                                  HYPERVISOR="proxmox", PROXMOX_URL=proxmox.url, PROXMOX_NODE=proxmox.node,
                                  PROXMOX_USER=proxmox.user, PROXMOX_TOKEN=proxmox.token, PROXMOX_PASSWORD="",
                                  PROXMOX_VERIFY_TLS="0", CONSOLE_LINK_SECONDS="600")
            seed_small(env)
            port = stack.enter_context(production_gunicorn(env, options.workers, options.threads))
            cookie = log_in(port, BENCH_MAIL, BENCH_PASSWORD)
            measure_all(port, cookie, options, {}, "warm-up", duration=1)  # imports, pools: not counted
            for round_number in range(options.rounds):
                print(f"consoles: round {round_number + 1}/{options.rounds}", file=sys.stderr, flush=True)
                if round_number % 2 == 0:  # alternate which comes first, so a drift in the box's load evens out
                    measure_all(port, cookie, options, results, "none")
                with consoles_open(port, cookie, options.consoles) as opened:
                    before = [console.updates for console in opened]
                    measure_all(port, cookie, options, results, "consoles")
                    received += [console.updates - start for console, start in zip(opened, before, strict=True)]
                    failures += [console.error for console in opened if console.error]
                if round_number % 2 == 1:
                    measure_all(port, cookie, options, results, "none")
    finally:
        proxmox.stop()
    report(options, results, received, failures)
    return 0 if not failures else 1


def measure_all(port: int, cookie: str, options, results: dict, variant: str, duration: float | None = None) -> None:
    for name, method, path, body, needs_cookie, *_ in MEASURED:
        result = run_wrk(port, method, path, body=body, cookie=cookie if needs_cookie else None,
                         connections=options.connections, duration=duration or options.duration, origin=ORIGIN)
        results.setdefault((name, variant), []).append(result)


def report(options, results: dict, received: list[int], failures: list[str]) -> None:
    kind = "sync" if options.threads == 1 else f"gthread x {options.threads} threads"
    print(f"\nClassic endpoints with {options.consoles} consoles open vs none: gunicorn -c gunicorn.conf.py, "
          f"{options.workers} {kind} workers, wrk {options.connections} connections, {options.rounds} x "
          f"{options.duration:g} s each way, alternating")
    print(f"{'endpoint':20} {'none req/s':>10} {'open req/s':>10} {'ratio':>6} {'p99 none':>8} {'p99 open':>8} "
          f"{'errors':>6}")
    for name, *_ in MEASURED:
        none, open_ = results[name, "none"], results[name, "consoles"]
        ratio = median([o["rps"] / n["rps"] for o, n in zip(open_, none, strict=True)])
        errors = sum(r["errors"] + r["non2xx"] for r in none + open_)
        print(f"{name:20} {median([r['rps'] for r in none]):>10.0f} {median([r['rps'] for r in open_]):>10.0f} "
              f"{ratio:>5.2f}x {median([r['p99'] for r in none]):>8.1f} {median([r['p99'] for r in open_]):>8.1f} "
              f"{errors:>6}")
    seconds = len(MEASURED) * options.duration
    print(f"consoles: {len(received)} sessions, framebuffer updates received while measured: "
          f"min {min(received, default=0)}, median {median(received) if received else 0:g} per ~{seconds:g} s")
    for failure in failures:
        print(f"console failed: {failure}")


if __name__ == "__main__":
    sys.exit(main())
