"""The rig: servers, simulators, hosts and the hooks the load and the injector use."""
import logging
import os
import random
import secrets
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import psycopg2
import redis as redis_lib
import requests

from .billing import clock_settings
from .gateways import PlategaFake, ProxyUpstreamFake
from .hosts import Host, Network
from .infra import MailSink, Postgres, Redis, free_port, wait_until

log = logging.getLogger("soak")
ROOT = Path(__file__).resolve().parents[2]
HOSTS = [("app1", "app"), ("app2", "app"), ("worker1", "worker"), ("worker2", "worker"), ("sched", "scheduler")]
POOL = [(1001, "ubuntu", "198.51.100"), (2001, "debian", "203.0.113")]  # first VMID and public /24 per OS
DATABASE = "oxnack_soak"
OPENING_CREDIT = 600
# Short timeouts and retries so an outage is survived, and a run settles, within the soak; the sweep
# is far more eager than production's minutes, so what a killed worker held is resumed in the run
# (a duplicate job is harmless: a run is carried out under a PostgreSQL advisory lock).
SETTINGS = {
    "PROXMOX_TIMEOUT": 4, "PROXMOX_TASK_DEADLINE": 30, "PROXMOX_POLL_INTERVAL": 1, "PFSENSE_TIMEOUT": 4,
    "SMTP_TIMEOUT": 5, "PROVISIONING_RETRY_INTERVALS": [2, 4, 8, 16], "PROVISIONING_JOB_TIMEOUT": 120,
    "PROVISIONING_LOCK_TTL": 150, "PROVISIONING_STUCK_MINUTES": 0.25, "MAIL_RETRY_INTERVALS": [2, 5, 10],
    "MAIL_STUCK_MINUTES": 0.25, "SWEEP_INTERVAL_SECONDS": 5, "SOCKS_SYNC_INTERVAL_MINUTES": 1,
    "SOCKS_API_TIMEOUT": 5, "SOCKS_REFUND_MINUTES": 60,
}


class Hooks:
    """What customers need from the harness: their codes, an opening credit, paying an invoice."""

    def __init__(self, rig: "Rig"):
        self.rig = rig
        self.repeat_callbacks = False
        self.rng = random.Random(f"hooks-{rig.seed}")
        self._rng_lock = threading.Lock()

    def code_for(self, mail: str) -> str | None:
        """The registration code, read from the Redis the harness owns (as a mail reader would)."""
        key = f"oxnack:code:registration:{mail.lower()}"
        found = []
        wait_until(lambda: found.append(self.rig.redis_client().hget(key, "code")) or found[-1], 30, 0.2)
        return found[-1].decode() if found and found[-1] else None

    def opening_credit(self, mail: str) -> None:
        """A staff credit through the ledger, so customers can order while top-ups are absent."""
        from oxnack_admin.extensions import db
        from oxnack_admin.models import User
        from oxnack_admin.models.enums import TransactionType
        from oxnack_admin.services.money import ledger

        def credit():
            with self.rig.app.app_context():
                try:
                    user = db.session.query(User).filter(User.mail == mail).one()
                    ledger.move_money(user.id, Decimal(OPENING_CREDIT), TransactionType.ADJUSTMENT,
                                      "soak opening credit", idempotency_key=f"soak-opening-{mail}")
                    db.session.commit()
                    return True
                finally:
                    db.session.remove()
        wait_until(credit, 60, 0.5)

    def _callback(self, body: dict, base: str):
        started = time.monotonic()
        metrics = self.rig.load.metrics
        from .load import Sample
        try:
            answer = requests.post(f"{base}/platega/callback", json=body, timeout=20, headers={
                "X-MerchantId": self.rig.merchant_id, "X-Secret": self.rig.merchant_secret})
        except requests.RequestException as exc:
            metrics.add(Sample(metrics.now(), "POST /platega/callback", 0, (time.monotonic() - started) * 1e3,
                               "timeout" if isinstance(exc, requests.Timeout) else "connection"))
            return None
        metrics.add(Sample(metrics.now(), "POST /platega/callback", answer.status_code,
                           (time.monotonic() - started) * 1e3))
        return answer.status_code

    def pay(self, customer, tid: str, amount: int) -> None:
        """The customer pays at Platega, which calls back (again while callbacks are repeated)."""
        body = self.rig.platega.pay(tid)
        if body is None:
            return
        with self.rig.load.ledger.lock:
            self.rig.load.ledger.paid[tid] = (customer.mail, Decimal(amount))
            self.rig.load.ledger.callbacks[tid] = body
        with self._rng_lock:
            copies = 3 if self.repeat_callbacks else (2 if self.rng.random() < 0.15 else 1)
        threads = [threading.Thread(target=self._deliver, args=(body, self.rig.app_urls[i % 2]), daemon=True)
                   for i in range(copies)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

    def _deliver(self, body: dict, base: str) -> None:
        """Platega retries a callback that got no 200 (a few times; the poller covers the rest)."""
        for attempt in range(4):
            if self._callback(body, base) == 200:
                return
            time.sleep(1 + attempt)

    def replay_all(self) -> int:
        with self.rig.load.ledger.lock:
            bodies = list(self.rig.load.ledger.callbacks.values())
        for body in bodies:
            for base in self.rig.app_urls:
                threading.Thread(target=self._callback, args=(body, base), daemon=True).start()
        return len(bodies)


class Rig:
    def __init__(self, run_dir: Path, seed: int, short: bool, allow_namespaces: bool = True):
        self.run_dir, self.seed, self.short = run_dir, seed, short
        self.network = Network([name for name, _ in HOSTS], allow_namespaces)
        infra = self.network.infra
        addresses = [infra] + (["127.0.0.1"] if infra != "127.0.0.1" else [])
        self.postgres = Postgres(run_dir / "postgres", addresses, free_port())
        self.redis = Redis(run_dir / "redis", addresses, free_port())
        self.settings = dict(SETTINGS, **clock_settings(short))
        self.merchant_id, self.merchant_secret = "soak-merchant", secrets.token_hex(16)
        self.socks_token = secrets.token_hex(16)
        self.hosts: list[Host] = []
        self.features: dict = {}
        self.hooks = Hooks(self)
        self.load = None
        self.app = None
        self.pool_size = 0
        self._redis = None

    # --- bring-up --------------------------------------------------------------------------

    @property
    def database_url(self) -> str:
        return self.postgres.url(DATABASE)

    @property
    def redis_url(self) -> str:
        return self.redis.url(0)

    def redis_client(self):
        if self._redis is None:
            self._redis = redis_lib.Redis.from_url(self.redis_url, socket_timeout=3, socket_connect_timeout=2)
        return self._redis

    @property
    def config_file(self) -> Path:
        """The instance config every host reads (floats and lists, which the environment cannot carry)."""
        path = self.run_dir / "soak_config.py"
        if not path.exists():
            path.write_text("".join(f"{key} = {value!r}\n" for key, value in self.settings.items()))
        return path

    def start_infrastructure(self) -> None:
        self.postgres.init()
        self.postgres.start()
        admin = psycopg2.connect(self.postgres.url())
        admin.autocommit = True
        admin.cursor().execute(f"CREATE DATABASE {DATABASE}")
        admin.close()
        self.redis.start()
        infra = self.network.infra
        self.sink = MailSink(infra)
        self.sink.start()
        self.platega = PlategaFake(infra, self.merchant_id, self.merchant_secret).start()
        self.upstream = ProxyUpstreamFake(infra, self.socks_token, seed=self.seed).start()

    def environment(self) -> dict:
        env = {key: value for key, value in os.environ.items() if not key.startswith("OXNACK_")}
        env.update({
            "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url, "SECRET_KEY": secrets.token_hex(16),
            "OXNACK_ENV": "development", "OXNACK_CONFIG": str(self.config_file),
            "OXNACK_COOKIE_SECURE": "0", "OXNACK_RATELIMIT_ENABLED": "0", "OXNACK_LOG_LEVEL": "WARNING",
            "OXNACK_SMTP_HOST": self.network.infra, "OXNACK_SMTP_PORT": str(self.sink.port),
            "OXNACK_SMTP_STARTTLS": "0", "OXNACK_MAIL_RELAY_PASSWORD": secrets.token_hex(8),
            "OXNACK_PLATEGA_URL": self.platega.url, "OXNACK_PLATEGA_MERCHANT_ID": self.merchant_id,
            "OXNACK_PLATEGA_SECRET": self.merchant_secret,
            "OXNACK_SOCKS_API_URL": self.upstream.api_url, "OXNACK_SOCKS_API_TOKEN": self.socks_token,
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def prepare_database(self, customers: int) -> None:
        """Migrate, seed the pool (enough VMs for every order) and start the hypervisor simulators."""
        os.environ.update(self.environment())
        from flask_migrate import upgrade

        from oxnack_admin import create_app
        from oxnack_admin.cli.simulators import start_simulators
        from oxnack_admin.extensions import db
        from oxnack_admin.models import Server

        self.app = create_app()
        self.pool_size = customers * 4  # both OSes; a customer holds up to three VMs
        with self.app.app_context():
            upgrade()
            for first, os_name, public_net in POOL:
                for offset in range(self.pool_size // 2 + 2):  # addresses are unique per server in the database
                    vmid = first + offset
                    db.session.add(Server(id=vmid, os=os_name, ram=1, cores=1, hdd=15, status="off", busy=False,
                                          ips=[f"{public_net}.{offset + 1}"], lan_ip=f"192.168.{vmid // 250 % 250}.{vmid % 250}",
                                          country="russia"))
            db.session.commit()
            pool = db.session.query(Server).all()
            self.simulators = start_simulators(self.app.config, pool, host=self.network.infra)
            db.session.remove()
        self.proxmox, self.pfsense = self.simulators.proxmox, self.simulators.pfsense

    def start_hosts(self) -> None:
        env = dict(self.environment(), **self.simulators.environment)
        python = sys.executable
        flask = [python, "-m", "flask", "--app", "wsgi"]
        self.app_port = free_port() if not self.network.namespaces else 8000
        ports = {}
        for name, role in HOSTS:
            if role == "app":
                port = self.app_port if self.network.namespaces else free_port()
                ports[name] = port
                argv = [python, "-m", "gunicorn", "--workers", "2", "--threads", "4", "--timeout", "60",
                        "--graceful-timeout", "5", "-b", f"{self.network.address(name)}:{port}", "wsgi:app"]
            elif role == "worker":
                # One worker host in the default order, one that takes provisioning first (a subset
                # order any worker host can be given): power actions never starve new orders.
                argv = flask + (["worker"] if name == "worker1" else ["worker", "provisioning", "mail", "default"])
            else:
                argv = flask + ["scheduler"]
            host = Host(name, role, argv, env, self.run_dir, self.network)
            host.start()
            self.hosts.append(host)
        self.app_urls = [f"http://{self.network.address(n)}:{p}" for n, p in ports.items()]
        if not wait_until(self.healthy, 90, 0.5):
            raise RuntimeError(f"app hosts did not become healthy; see {self.run_dir}/app*.log")
        if not wait_until(lambda: len(self.worker_names()) >= 2, 60, 0.5):
            raise RuntimeError(f"workers did not register; see {self.run_dir}/worker*.log")

    @property
    def workers(self) -> list[Host]:
        return [h for h in self.hosts if h.role == "worker"]

    def detect_features(self) -> dict:
        """A flow is on when the app knows its endpoint (anything but 404 without a session)."""
        probes = {"payments": ("POST", "/create_invoice"), "lifecycle": ("POST", "/renew_server"),
                  "proxies": ("GET", "/api/external-proxy/list")}
        for feature, (method, path) in probes.items():
            answer = requests.request(method, self.app_urls[0] + path, json={}, timeout=20)
            self.features[feature] = answer.status_code != 404
            if not self.features[feature]:
                log.warning("flow %s off: %s %s answers 404 (skipped: feature absent)", feature, method, path)
        if self.features["proxies"]:
            self.sync_proxies()
        return self.features

    def sync_proxies(self) -> None:
        """Fill the proxy inventory once now (the scheduler keeps it fresh) with a staff token."""
        from oxnack_admin.models.enums import StaffRole
        from oxnack_admin.services.staff.staff import create_staff

        with self.app.app_context():
            create_staff("soak-owner@soak.example", StaffRole.OWNER, secrets.token_urlsafe(16))
            from oxnack_admin.extensions import db

            db.session.commit()
        made = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "create-token",
                               "soak-owner@soak.example", "--name", "soak"], env=dict(os.environ),
                              capture_output=True, text=True, cwd=str(ROOT))
        token = made.stdout.strip().split()[-1] if made.returncode == 0 and made.stdout.strip() else None
        if token is None:
            log.warning("no staff token (create-token: %s); the scheduler's sync fills the inventory",
                        made.stderr.strip()[-200:])
            return
        answer = requests.post(self.app_urls[0] + "/api/external-proxy/sync", json={"page_size": 100},
                               headers={"Authorization": f"Bearer {token}"}, timeout=60)
        log.info("proxy sync: %s %s", answer.status_code, answer.text[:200])

    # --- probes for the injector -----------------------------------------------------------

    def healthy(self) -> bool:
        return all(requests.get(url + "/health", timeout=3).status_code == 200 for url in self.app_urls)

    def worker_names(self) -> set:
        from rq import Worker

        return {w.name for w in Worker.all(connection=self.redis_client())}

    def _scalar(self, query: str, *args):
        connection = psycopg2.connect(self.database_url, connect_timeout=2)
        try:
            with connection.cursor() as cursor:
                cursor.execute(query, args)
                return cursor.fetchone()[0]
        finally:
            connection.close()

    def backlog_marker(self) -> tuple[int, int]:
        """The newest provisioning run and mail now: what a fault may have touched."""
        return (self._scalar("SELECT COALESCE(max(id), 0) FROM provisioning_runs"),
                self._scalar("SELECT COALESCE(max(id), 0) FROM mail_messages"))

    def settled(self, marker: tuple[int, int] | None = None) -> bool:
        """Every run and mail up to `marker` (all, without one; every wipe then too) is final: the backlog is worked off."""
        runs, mails = marker or (2 ** 31 - 1, 2 ** 31 - 1)
        wipes = "" if marker else " + (SELECT count(*) FROM server_wipes WHERE state IN ('pending', 'running'))"
        return self._scalar("SELECT (SELECT count(*) FROM provisioning_runs WHERE state IN ('pending', 'running') "
                            "AND id <= %s) + (SELECT count(*) FROM mail_messages WHERE state = 'queued' AND id <= %s)"
                            + wipes, runs, mails) == 0

    def vm_ids_to_lock(self, rng, count: int) -> list[int]:
        connection = psycopg2.connect(self.database_url, connect_timeout=2)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT id FROM servers ORDER BY busy DESC, id LIMIT %s", (count * 3,))
                ids = [row[0] for row in cursor.fetchall()]
        finally:
            connection.close()
        return sorted(rng.sample(ids, min(count, len(ids))))

    # --- tear-down -------------------------------------------------------------------------

    def stop(self) -> None:
        for host in reversed(self.hosts):
            host.kill()  # the run is over: a warm shutdown would only wait for jobs nobody checks
        for name in ("simulators", "platega", "upstream", "sink"):
            part = getattr(self, name, None)
            if part is not None:
                try:
                    part.stop()
                except Exception:
                    pass
        self.redis.stop()
        self.postgres.stop()
        self.network.teardown()
