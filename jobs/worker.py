"""RQ workers that run every job inside the Flask app context, and the cron scheduler.

Job functions take ids and use `db`, `current_app` and `redis_client`; the worker pushes an
app context around each job and drops the session afterwards, so no job builds an app.
"""
import logging

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from flask import Flask
from rq import Queue, SimpleWorker, Worker
from rq.cron import CronScheduler

from oxnack_admin.extensions import db
from oxnack_admin.services.ops import metrics, queueing

from . import crypto, lifecycle, maintenance, payments, proxies

log = logging.getLogger(__name__)


class _InAppContext:
    """Mixin: perform each job (and RQ's failure handling of it) inside `self.app`'s context."""

    app: Flask

    def perform_job(self, job, queue, execution):
        with self.app.app_context():
            try:
                return super().perform_job(job, queue, execution)
            finally:
                db.session.remove()

    def handle_job_success(self, job, queue, started_job_registry, execution):
        super().handle_job_success(job, queue, started_job_registry, execution)
        metrics.record_job(self.connection, queue.name, "succeeded")

    def handle_job_failure(self, job, queue, started_job_registry=None, exc_string="", execution=None):
        retried = bool(job.retries_left)  # RQ queues it again rather than failing it
        super().handle_job_failure(job, queue, started_job_registry, exc_string, execution)
        metrics.record_job(self.connection, queue.name, "retried" if retried else "failed")


class AppWorker(_InAppContext, Worker):
    """The production worker: each job runs in a forked work horse."""

    def main_work_horse(self, job, queue):
        # The horse is a fork: connections pooled by the parent must never be shared with it.
        with self.app.app_context():
            db.engine.dispose(close=False)
        super().main_work_horse(job, queue)


class AppSimpleWorker(_InAppContext, SimpleWorker):
    """Runs jobs in the worker process itself (no fork): for debugging."""


# A Redis restart takes a few seconds; RQ's own loop only survives one while it waits for work,
# so every command (heartbeats, job status while a horse runs) rides it out with backoff instead.
REDIS_RETRY = Retry(ExponentialBackoff(cap=2.0, base=0.1), retries=20)


def redis_connection(app: Flask) -> redis.Redis:
    """A connection of the worker's own: RQ widens its socket timeout for blocking pops."""
    return redis.Redis.from_url(app.config["REDIS_URL"], retry=REDIS_RETRY,
                                retry_on_error=[redis.exceptions.ConnectionError])


def build_worker(app: Flask, queue_names=None, worker_class: type[Worker] = AppWorker, **options) -> Worker:
    """A worker on `queue_names` (default WORKER_QUEUES), checked in that order for each job."""
    names = list(queue_names or app.config.get("WORKER_QUEUES") or queueing.QUEUE_NAMES)
    unknown = set(names) - set(queueing.QUEUE_NAMES)
    if unknown:
        raise ValueError(f"unknown queues {sorted(unknown)}; use {', '.join(queueing.QUEUE_NAMES)}")
    connection = redis_connection(app)
    # The retry scheduler runs inside one worker; when that worker dies, another takes it over only
    # at its next maintenance, so a short interval keeps retries from stalling for ten minutes.
    options.setdefault("maintenance_interval", int(app.config.get("WORKER_MAINTENANCE_INTERVAL", 600)))
    worker = worker_class([Queue(name, connection=connection) for name in names], connection=connection, **options)
    worker.app = app
    return worker


def run_worker(app: Flask, queue_names=None, *, burst: bool = False, with_scheduler: bool = True,
               worker_class: type[Worker] = AppWorker) -> bool:
    """Work the queues until stopped (or until they are empty with `burst`); True if any job ran.

    `with_scheduler` moves retries that wait for their interval back onto their queues.
    """
    worker = build_worker(app, queue_names, worker_class)
    return worker.work(burst=burst, with_scheduler=with_scheduler, logging_level=app.config.get("LOG_LEVEL", "INFO"))


def build_scheduler(app: Flask) -> CronScheduler:
    """The cron scheduler with the periodic jobs registered (it only enqueues; workers run them)."""
    scheduler = CronScheduler(connection=redis_connection(app), logging_level=app.config.get("LOG_LEVEL", "INFO"))
    scheduler.register(maintenance.sweep, queue_name=queueing.DEFAULT,
                       interval=int(app.config["SWEEP_INTERVAL_SECONDS"]))
    # Every minute: Platega stops calling back after three tries, and expired invoices must close.
    scheduler.register(payments.poll_invoices, queue_name=queueing.DEFAULT, cron="* * * * *")
    scheduler.register(lifecycle.billing_cycle, queue_name=queueing.DEFAULT, cron=app.config["BILLING_CYCLE_CRON"])
    scheduler.register(proxies.sync_inventory, queue_name=queueing.DEFAULT,
                       interval=int(app.config["SOCKS_SYNC_INTERVAL_MINUTES"]) * 60)
    if app.config.get("CRYPTO_RPC_URL"):  # the watcher never runs twice at once: it holds an advisory lock
        scheduler.register(crypto.watch_chain, queue_name=queueing.DEFAULT,
                           interval=int(app.config["CRYPTO_POLL_SECONDS"]))
    return scheduler
