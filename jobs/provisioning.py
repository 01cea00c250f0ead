"""Provisioning jobs (queue `provisioning`)."""
from oxnack_admin.services.provisioning import runs as provisioning_runs

from . import current_job_id, is_last_attempt, rq_attempt


def provision_server(run_id: int) -> None:
    """Carry a provisioning run on from its first step not done."""
    with rq_attempt():
        provisioning_runs.advance(run_id, job_id=current_job_id(), last_attempt=is_last_attempt())
