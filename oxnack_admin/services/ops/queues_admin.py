"""RQ queues as the console shows them: counts, failed jobs with their error, retry and delete."""
from dataclasses import dataclass
from datetime import datetime

from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import select

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import MailMessage
from oxnack_admin.models.enums import MailState
from oxnack_admin.services.fleet import power
from oxnack_admin.services.ops import queueing


class JobNotFound(LookupError):
    """No failed job with that id in that queue."""


class JobRetryRefused(Exception):
    """The failed job must not run again as it is (the message says why)."""


@dataclass(frozen=True)
class QueueStats:
    name: str
    queued: int
    started: int
    scheduled: int
    failed: int


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    func_name: str
    args: str
    error: str
    failed_at: datetime | None


def queue_stats() -> list[QueueStats]:
    """Counts per queue, in the order of queueing.QUEUE_NAMES."""
    stats = []
    for name in queueing.QUEUE_NAMES:
        queue = queueing.get_queue(name)
        stats.append(QueueStats(name, queue.count, queue.started_job_registry.count,
                                queue.scheduled_job_registry.count, queue.failed_job_registry.count))
    return stats


def failed_jobs(limit_per_queue: int = 50) -> list[FailedJob]:
    """The newest failed jobs of every queue with the last line of their error first."""
    found = []
    for name in queueing.QUEUE_NAMES:
        registry = queueing.get_queue(name).failed_job_registry
        ids = registry.get_job_ids(0, limit_per_queue - 1, desc=True)
        for job in Job.fetch_many(ids, connection=redis_client.connection):
            if job is not None:
                found.append(_describe(job, name))
    return sorted(found, key=lambda j: j.failed_at.timestamp() if j.failed_at else 0, reverse=True)


def retry_job(queue_name: str, job_id: str) -> str:
    """Put a failed job back on its queue; returns the id of the job that will run.

    A power job is not replayed: its VM-lock token is stale (the lock may now be another
    operation's), so it is asked for again under a fresh lock, for the same owner only.
    """
    job = _failed_job(queue_name, job_id)
    if job.func_name == power.JOB:
        try:
            requested = power.retry_power_action(*job.args, **job.kwargs)
        except power.PowerActionError as error:
            raise JobRetryRefused(error.message) from error
        job.delete()  # replaced by the fresh job
        return requested.job_id or job_id
    job.requeue()
    return job.id


def delete_job(queue_name: str, job_id: str) -> None:
    """Forget a failed job for good."""
    _failed_job(queue_name, job_id).delete()


def _failed_job(queue_name: str, job_id: str) -> Job:
    if queue_name not in queueing.QUEUE_NAMES:
        raise JobNotFound(f"no queue {queue_name}")
    registry = queueing.get_queue(queue_name).failed_job_registry
    if job_id not in registry:
        raise JobNotFound(f"no failed job {job_id} in {queue_name}")
    try:
        return Job.fetch(job_id, connection=redis_client.connection)
    except NoSuchJobError:
        raise JobNotFound(f"job {job_id} expired") from None


def _describe(job: Job, queue_name: str) -> FailedJob:
    result = job.latest_result()
    error = (result.exc_string if result is not None else None) or "(no error recorded)"
    try:
        args = ", ".join(repr(a) for a in job.args)
    except Exception:  # arguments that no longer deserialize are still worth listing the job for
        args = "(unreadable)"
    return FailedJob(job.id, queue_name, job.func_name, args, error.strip(), job.ended_at)


def failed_mail(limit: int = 50) -> list[MailMessage]:
    """Messages every retry failed for, newest first (retried from the jobs page)."""
    return list(db.session.scalars(select(MailMessage).where(MailMessage.state == MailState.FAILED)
                                   .order_by(MailMessage.id.desc()).limit(limit)))
