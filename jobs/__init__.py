"""Job entry points for the RQ workers: small functions that take ids and call services.

Jobs run inside the app context that `jobs.worker` provides, and raise on failure so RQ sees
it. RQ's `Retry` retries transient failures; `rq_attempt` tells a service whether this is the
last try and stops RQ from retrying an error that would only fail again.
"""
import contextlib

from rq import get_current_job

from oxnack_admin.services.ops.retryable import is_transient


def is_last_attempt() -> bool:
    """True when RQ will not run this job again if it fails (no retries left, or run inline)."""
    job = get_current_job()
    return job is None or job.worker_name == "sync" or not job.retries_left


def current_job_id() -> str | None:
    job = get_current_job()
    return job.id if job else None


@contextlib.contextmanager
def rq_attempt():
    """Re-raise every failure for RQ, but spend no retries on permanent ones."""
    try:
        yield
    except Exception as exc:
        job = get_current_job()
        if job is not None and not is_transient(exc):
            job.retries_left = 0  # the worker reads this right after the job raises
        raise
