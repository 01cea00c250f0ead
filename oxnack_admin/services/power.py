"""Power actions on a customer's VM: asked for here, carried out by the `jobs.power` job."""
from sqlalchemy import select

from ..extensions import db
from ..models import ProvisioningRun, Server
from ..models.enums import RunState
from . import queueing, vm_locks

ACTIONS = ("start", "stop", "restart")


class PowerActionError(Exception):
    """The action cannot be queued; `status` is the HTTP status that fits."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message, self.status = message, status


def request_power_action(server: Server, action: str, requested_by: str = "customer") -> str:
    """Take the VM's lock for this action and queue the job; returns the job id.

    The lock is taken here, not in the job, so a second click gets 409 at once instead of
    queueing behind the first. The job releases it when it ends.
    """
    if action not in ACTIONS:
        raise PowerActionError(f"unknown action; use one of: {', '.join(ACTIONS)}", 400)
    unfinished = db.session.scalar(select(ProvisioningRun.id).where(
        ProvisioningRun.server_id == server.id, ProvisioningRun.state.in_([RunState.PENDING, RunState.RUNNING])))
    if unfinished:
        raise PowerActionError("server is still being created", 409)
    token = vm_locks.acquire(server.id, f"power:{action}")
    if token is None:
        raise PowerActionError("another action is running on this server", 409)
    job = queueing.enqueue(queueing.DEFAULT, "jobs.power.run_power_action", server.id, action, token,
                           requested_by, job_timeout=vm_locks.DEFAULT_TTL_SECONDS)
    return job.id
