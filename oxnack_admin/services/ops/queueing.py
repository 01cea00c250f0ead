"""RQ queues by kind, and enqueueing that waits for the database transaction to commit.

A job enqueued before its rows are committed could run against nothing (or against an
order that then rolled back), so services ask for `enqueue_after_commit` instead.
"""
import logging

from flask import current_app
from rq import Queue, Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

from oxnack_admin.extensions import db, redis_client

PROVISIONING = "provisioning"  # slow remote work; never delays a code e-mail
MAIL = "mail"
DEFAULT = "default"
QUEUE_NAMES = (PROVISIONING, MAIL, DEFAULT)

_PENDING_KEY = "oxnack_pending_jobs"

log = logging.getLogger(__name__)


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
        try:
            enqueue(queue_name, func_path, *args, **options)
        except Exception as error:  # noqa: BLE001  Redis down, a timeout, a refused connection...
            # The rows are committed (the money moved): failing now would answer 500 for a done deed.
            # Every job queued this way has a sweep that finds its rows and queues it again.
            log.error("could not queue %s%r on %s after the commit (%s: %s); the sweep will queue it",
                      func_path, args, queue_name, type(error).__name__, error)


@event.listens_for(Session, "after_rollback")
def _drop_pending_jobs(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
