"""RQ queues by kind, and enqueueing that waits for the database transaction to commit.

A job enqueued before its rows are committed could run against nothing (or against an
order that then rolled back), so services ask for `enqueue_after_commit` instead.
"""
import logging
import time

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue, Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

from oxnack_admin.extensions import db, redis_client

PROVISIONING = "provisioning"  # slow remote work; never delays a code e-mail
MAIL = "mail"
TELEGRAM = "telegram"  # bot replies, notices and updates: quick, and never behind VM work
DEFAULT = "default"
QUEUE_NAMES = (PROVISIONING, MAIL, DEFAULT, TELEGRAM)

_PENDING_KEY = "oxnack_pending_jobs"
# Seconds between tries to queue a committed job while Redis restarts (about 6 s in all).
COMMITTED_JOB_RETRY_PAUSES = (0.2, 0.4, 0.8, 1.6, 3.0)

log = logging.getLogger(__name__)


def retry_policy() -> Retry | None:
    """RQ retries for transient failures of remote work, from PROVISIONING_RETRY_INTERVALS (seconds)."""
    intervals = [int(seconds) for seconds in current_app.config.get("PROVISIONING_RETRY_INTERVALS") or []]
    return Retry(max=len(intervals), interval=intervals) if intervals else None


def provisioning_job_options() -> dict:
    """RQ options of a job on the provisioning queue (runs and wipes): retries and one attempt's timeout."""
    return {"retry": retry_policy(), "job_timeout": current_app.config.get("PROVISIONING_JOB_TIMEOUT", 3600)}


def get_queue(name: str) -> Queue:
    """A queue on the app's Redis; `RQ_IS_ASYNC=False` in config runs jobs inline."""
    return Queue(name, connection=redis_client.connection, is_async=current_app.config.get("RQ_IS_ASYNC", True))


def enqueue(queue_name: str, func_path: str, *args, job_id: str | None = None,
            retry: Retry | None = None, job_timeout: int | None = None, **kwargs):
    """Enqueue now. Jobs are named by dotted path so the web process never imports job code."""
    return get_queue(queue_name).enqueue(func_path, *args, job_id=job_id, retry=retry,
                                         job_timeout=job_timeout, **kwargs)


def enqueue_after_commit(queue_name: str, func_path: str, *args, **options) -> None:
    """Enqueue once the current database transaction commits; dropped if it rolls back."""
    db.session.info.setdefault(_PENDING_KEY, []).append((queue_name, func_path, args, options))


@event.listens_for(Session, "after_commit")
def _flush_pending_jobs(session: Session) -> None:
    for queue_name, func_path, args, options in session.info.pop(_PENDING_KEY, []):
        _enqueue_committed(queue_name, func_path, args, options)


def _enqueue_committed(queue_name: str, func_path: str, args, options) -> None:
    """Enqueue for rows already committed: ride out a Redis restart, never fail the request after it.

    Raising here would answer 5xx for an order that is already paid and recorded (the customer
    would order again); a job still not queued after the retries is left to the sweep, which
    resumes every unfinished run, wipe and queued mail.
    """
    for pause in (*COMMITTED_JOB_RETRY_PAUSES, None):
        try:
            enqueue(queue_name, func_path, *args, **options)
            return
        except RedisError as exc:
            if pause is None:
                log.error("could not queue %s%s on %s (Redis: %s); the sweep will queue it again",
                          func_path, args, queue_name, exc.__class__.__name__)
                return
            time.sleep(pause)
        except Exception as error:  # not Redis restarting: no point waiting
            log.error("could not queue %s%r on %s after the commit (%s: %s); the sweep will queue it",
                      func_path, args, queue_name, type(error).__name__, error)
            return


@event.listens_for(Session, "after_rollback")
def _drop_pending_jobs(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
