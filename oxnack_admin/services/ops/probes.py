"""The probes /status runs: each returns a short detail when its system answers and raises when not.

Each opens its own connection with the check's timeout (the app's clients retry and wait far
longer, which is right for work and wrong for a status page).
"""
import smtplib
from collections.abc import Callable, Mapping
import requests
from redis import Redis
from rq import Queue, Worker
from rq.cron import CronScheduler
from sqlalchemy import text

from oxnack_admin.clients.bsc_rpc import BscRpcClient
from oxnack_admin.clients.telegram import BotApi
from oxnack_admin.extensions import db
from oxnack_admin.services.ops import queueing


class Down(RuntimeError):
    """The system answered, but not as a working one."""


def describe(error: Exception) -> str:
    """A failure in a few words: its kind and message, cut short (messages here carry no credentials)."""
    message = str(error).split("\n")[0][:160]
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def database(config: Mapping, timeout: float) -> str:
    try:
        db.session.execute(text("SET LOCAL statement_timeout = :ms"), {"ms": int(timeout * 1000)})
        version = db.session.execute(text("SHOW server_version")).scalar()
    finally:
        db.session.rollback()
    return f"PostgreSQL {version}"


def _redis(config: Mapping, timeout: float) -> Redis:
    return Redis.from_url(config["REDIS_URL"], socket_timeout=timeout, socket_connect_timeout=timeout)


def redis(config: Mapping, timeout: float) -> str:
    connection = _redis(config, timeout)
    try:
        return f"Redis {connection.info('server').get('redis_version', '?')}"
    finally:
        connection.close()


def queue_depths(connection: Redis) -> dict[str, dict]:
    """Per queue: jobs waiting, failed, and the workers listening to it."""
    workers = Worker.all(connection=connection)
    depths = {}
    for name in queueing.QUEUE_NAMES:
        queue = Queue(name, connection=connection)
        depths[name] = {"queued": queue.count, "failed": queue.failed_job_registry.count,
                        "started": queue.started_job_registry.count,
                        "workers": sum(1 for worker in workers if name in worker.queue_names())}
    return depths


def queues(config: Mapping, timeout: float) -> str:
    """Up when every queue has a worker listening; the detail gives the depths."""
    connection = _redis(config, timeout)
    try:
        depths = queue_depths(connection)
    finally:
        connection.close()
    detail = ", ".join(f"{name} {d['queued']} queued/{d['failed']} failed/{d['workers']} workers"
                       for name, d in depths.items())
    unserved = [name for name, d in depths.items() if not d["workers"]]
    if unserved:
        raise Down(f"no worker on {', '.join(unserved)} ({detail})")
    return detail


def scheduler(config: Mapping, timeout: float) -> str:
    """Up when a cron scheduler has sent a heartbeat recently (RQ's registry drops silent ones)."""
    connection = _redis(config, timeout)
    try:
        running = CronScheduler.all(connection=connection)
    finally:
        connection.close()
    if not running:
        raise Down("no scheduler running: periodic jobs (billing, poller, sync, sweep) are not queued")
    return ", ".join(f"{s.name} on {s.hostname}" for s in running)


def http(url_setting: str, path: str, verify_setting: str | None = None) -> Callable[[Mapping, float], str]:
    """A probe that the system at `url_setting` answers HTTP at all (any status below 500; auth is not checked)."""
    def probe(config: Mapping, timeout: float) -> str:
        url = config[url_setting].rstrip("/") + path
        verify = bool(config.get(verify_setting, True)) if verify_setting else True
        response = requests.get(url, timeout=timeout, verify=verify, allow_redirects=False)
        response.close()
        if response.status_code >= 500:
            raise Down(f"HTTP {response.status_code}")
        return f"HTTP {response.status_code}"

    return probe


def smtp(config: Mapping, timeout: float) -> str:
    """The server greets and answers NOOP (no login: the password never leaves for a status check)."""
    with smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=timeout) as server:
        code, _ = server.noop()
    if code != 250:
        raise Down(f"NOOP answered {code}")
    return f"{config['SMTP_HOST']}:{config['SMTP_PORT']} answers"


def telegram(config: Mapping, timeout: float) -> str:
    """The Bot API knows our token (getMe); the token itself never reaches the detail."""
    me = BotApi.from_config(config, timeout=timeout).get_me()
    return f"@{me.get('username') or me.get('id')}"


def crypto_rpc(config: Mapping, timeout: float) -> str:
    """The node answers on the configured chain: a wrong chain id is down, nothing would be credited."""
    node = BscRpcClient(config["CRYPTO_RPC_URL"], timeout=timeout, retries=0)
    chain, head = node.chain_id(), node.block_number()
    if chain != int(config["CRYPTO_CHAIN_ID"]):
        raise Down(f"chain id {chain}, expected {config['CRYPTO_CHAIN_ID']}")
    return f"chain {chain}, head {head}"
