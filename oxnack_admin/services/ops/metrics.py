"""What GET /metrics tells Prometheus, with the official client.

Two kinds of figures:
- counted where they happen, in each process (requests and their latency):
  prometheus_client's multiprocess mode sums every gunicorn worker's files in
  PROMETHEUS_MULTIPROC_DIR, so the figures cover all workers, not the one that answers;
- read at scrape time from where the truth is kept (StateCollector): queue depths and job
  outcomes from Redis (jobs run in forked work horses, often on other hosts, so they count in
  a Redis hash; so do Telegram messages, sent by those jobs), provisioning runs, wipes and money
  from PostgreSQL.
"""
import logging
import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import ProvisioningRun, ServerWipe, Transaction
from oxnack_admin.models.enums import TransactionStatus, TransactionType
from oxnack_admin.services.ops import probes

log = logging.getLogger(__name__)

REQUESTS = Counter("oxnack_http_requests_total", "HTTP requests answered, by endpoint, method and status",
                   ["endpoint", "method", "status"])
# Buckets around what the classic reads take (sub-millisecond hot reads) up to slow console pages.
LATENCY = Histogram("oxnack_http_request_duration_seconds", "Time to answer a request, by endpoint", ["endpoint"],
                    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

JOB_OUTCOMES_KEY = "oxnack:metrics:jobs"  # hash "<queue>|<outcome>" → count
TELEGRAM_OUTCOMES_KEY = "oxnack:metrics:telegram"  # hash outcome → count (the outbox's sender, in job processes)
# sent; retried (429, 5xx, a timeout: sent later); blocked (403, recorded undelivered); failed (400, too old);
# uncertain (a worker died while handing it over). Each is shown, 0 until it happens. A message queued for a chat
# already known unreachable never reaches a job and is not counted (the console lists it as undelivered).
TELEGRAM_OUTCOMES = ("sent", "retried", "blocked", "failed", "uncertain")
MONEY_KINDS = {"top_up": (TransactionType.TOP_UP,), "renewal": (TransactionType.RENEWAL,),
               "refund": (TransactionType.REFUND, TransactionType.PROXY_REFUND),
               "proxy_sale": (TransactionType.PROXY_PURCHASE,)}


def record_job(connection, queue: str, outcome: str) -> None:
    """Count a finished job (outcome: succeeded, failed, retried); never fails the job for it."""
    try:
        connection.hincrby(JOB_OUTCOMES_KEY, f"{queue}|{outcome}", 1)
    except Exception as error:  # a metric lost is better than a job marked failed
        log.warning("metrics: job outcome not counted: %s", type(error).__name__)


def record_telegram(connection, outcome: str, count: int = 1) -> None:
    """Count Telegram messages by outcome; never fails the sending for it."""
    try:
        connection.hincrby(TELEGRAM_OUTCOMES_KEY, outcome, count)
    except Exception as error:  # a metric lost is better than a message left half-recorded
        log.warning("metrics: telegram outcome not counted: %s", type(error).__name__)


class StateCollector:
    """Figures read at scrape time from Redis and PostgreSQL (right whichever process answers)."""

    def collect(self):
        yield from self._redis_figures()
        yield from self._database_figures()

    def _redis_figures(self):
        depth = GaugeMetricFamily("oxnack_queue_jobs", "Jobs in each queue, by state", labels=["queue", "state"])
        jobs = CounterMetricFamily("oxnack_jobs", "Jobs finished, by queue and outcome", labels=["queue", "outcome"])
        telegram = CounterMetricFamily("oxnack_telegram_messages", "Telegram messages, by outcome", labels=["outcome"])
        try:
            for name, d in probes.queue_depths(redis_client.connection).items():
                for state in ("queued", "started", "failed"):
                    depth.add_metric([name, state], d[state])
            for field, count in redis_client.connection.hgetall(JOB_OUTCOMES_KEY).items():
                queue, _, outcome = (field.decode() if isinstance(field, bytes) else field).partition("|")
                jobs.add_metric([queue, outcome], int(count))
            counted = {(k.decode() if isinstance(k, bytes) else k): int(v)
                       for k, v in redis_client.connection.hgetall(TELEGRAM_OUTCOMES_KEY).items()}
            for outcome in sorted(set(TELEGRAM_OUTCOMES) | set(counted)):
                telegram.add_metric([outcome], counted.get(outcome, 0))
        except Exception as error:  # Redis down: the scrape still answers, without these
            log.warning("metrics: Redis figures left out: %s", type(error).__name__)
            return
        yield depth
        yield jobs
        yield telegram

    def _database_figures(self):
        runs = GaugeMetricFamily("oxnack_provisioning_runs", "Provisioning runs, by state", labels=["state"])
        wipes = GaugeMetricFamily("oxnack_server_wipes", "Server wipes, by state", labels=["state"])
        count = CounterMetricFamily("oxnack_money_transactions", "Confirmed ledger rows, by kind", labels=["kind"])
        total = CounterMetricFamily("oxnack_money_rub", "Roubles moved by confirmed ledger rows, by kind",
                                    labels=["kind"])
        try:
            for state, n in db.session.execute(select(ProvisioningRun.state, func.count()).group_by(ProvisioningRun.state)):
                runs.add_metric([state], n)
            for state, n in db.session.execute(select(ServerWipe.state, func.count()).group_by(ServerWipe.state)):
                wipes.add_metric([state], n)
            by_type = {kind: (n, amount) for kind, n, amount in db.session.execute(
                select(Transaction.type, func.count(), func.coalesce(func.sum(func.abs(Transaction.amount)), 0))
                .where(Transaction.type.in_([t for types in MONEY_KINDS.values() for t in types]),
                       Transaction.status == TransactionStatus.CONFIRMED)
                .group_by(Transaction.type))}
        except Exception as error:
            log.warning("metrics: database figures left out: %s", type(error).__name__)
            db.session.rollback()
            return
        finally:
            db.session.rollback()  # read-only: end the transaction the reads opened
        for kind, types in MONEY_KINDS.items():
            count.add_metric([kind], sum(by_type.get(t, (0, 0))[0] for t in types))
            total.add_metric([kind], float(sum(by_type.get(t, (0, 0))[1] for t in types)))
        yield from (runs, wipes, count, total)


def render() -> tuple[bytes, str]:
    """The Prometheus text of every figure, and its content type."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:  # one process (development): its own counters are the whole story
        registry.register(_ProcessCounters())
    registry.register(StateCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _ProcessCounters:
    """This process's request figures from the default registry."""

    def collect(self):
        for family in REGISTRY.collect():
            if family.name.startswith("oxnack_"):
                yield family
