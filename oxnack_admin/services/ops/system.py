"""The console's System page: the /status checks, the queues, the last run of every periodic job, recent failures."""
from dataclasses import dataclass
from datetime import datetime

from rq.cron import get_cron_job_ids
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import select

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import ProvisioningRun, ServerWipe
from oxnack_admin.models.enums import RunState
from oxnack_admin.services.ops import probes, queues_admin, status

# The scheduler's jobs (jobs/worker.py build_scheduler), by RQ's cron name "<module>.<function>".
# A new periodic job adds its line here, e.g. the crypto watcher: ("Crypto watcher", "jobs.crypto.watch").
PERIODIC_JOBS = [
    ("Billing cycle", "jobs.lifecycle.billing_cycle"),
    ("Payment poller", "jobs.payments.poll_invoices"),
    ("Proxy sync", "jobs.proxies.sync_inventory"),
    ("Sweep (stuck runs, wipes, mail, Telegram messages and updates, proxy sales)", "jobs.maintenance.sweep"),
]


@dataclass(frozen=True)
class PeriodicRun:
    label: str
    job_id: str | None
    state: str  # RQ's status of the last run, or "never"
    enqueued_at: datetime | None
    ended_at: datetime | None
    error: str | None


def last_runs() -> list[PeriodicRun]:
    """The last run the scheduler queued of each periodic job (RQ keeps its history)."""
    return [_last_run(label, name) for label, name in PERIODIC_JOBS]


def _last_run(label: str, name: str) -> PeriodicRun:
    ids = get_cron_job_ids(name, redis_client.connection, 0, 0)
    if not ids:
        return PeriodicRun(label, None, "never", None, None, None)
    try:
        job = Job.fetch(ids[0], connection=redis_client.connection)
    except NoSuchJobError:  # its result expired: only the id is left
        return PeriodicRun(label, ids[0], "expired", None, None, None)
    error = (job.exc_info or "").strip().splitlines()[-1:] or [None]
    state = job.get_status(refresh=False)
    return PeriodicRun(label, job.id, getattr(state, "value", state) or "unknown", job.enqueued_at,
                       job.ended_at, error[0])


def recent_failures(limit: int = 10) -> dict:
    """Failed jobs, provisioning runs and wipes, newest first."""
    runs = db.session.scalars(select(ProvisioningRun).where(ProvisioningRun.state == RunState.FAILED)
                              .order_by(ProvisioningRun.id.desc()).limit(limit)).all()
    wipes = db.session.scalars(select(ServerWipe).where(ServerWipe.state == RunState.FAILED)
                               .order_by(ServerWipe.id.desc()).limit(limit)).all()
    return {"jobs": queues_admin.failed_jobs(limit)[:limit], "runs": runs, "wipes": wipes}


def overview() -> dict:
    """Everything the page shows; a Redis outage leaves the Redis parts empty, never the page."""
    report = status.report()
    try:
        queues, periodic = probes.queue_depths(redis_client.connection), last_runs()
        failures = recent_failures()
    except Exception:  # Redis down: the checks above already say so
        queues, periodic, failures = {}, [], {"jobs": [], "runs": [], "wipes": []}
    return {"report": report, "queues": queues, "periodic": periodic, "failures": failures}
