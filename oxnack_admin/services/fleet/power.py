"""Power actions on a customer's VM: asked for here, carried out by the `jobs.power` job."""
import logging
from dataclasses import dataclass

from flask import current_app

from oxnack_admin.clients.errors import RemoteError
from oxnack_admin.extensions import db
from oxnack_admin.models import Server
from oxnack_admin.models.enums import ServerStatus
from oxnack_admin.services.fleet import hypervisor, states, vm_locks
from oxnack_admin.services.fleet.states import Actor, Event
from oxnack_admin.services.staff import audit
from oxnack_admin.services.ops import queueing

log = logging.getLogger(__name__)

ACTIONS = ("start", "stop", "restart")
JOB = "jobs.power.run_power_action"
STILL_CREATING = "server is still being created; stop and restart work once it is running"


class PowerActionError(Exception):
    """The action cannot be queued; `status` is the HTTP status that fits."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message, self.status = message, status


@dataclass(frozen=True)
class PowerRequest:
    """What a power request led to: a queued job, or nothing to do (`job_id` None) and why."""

    job_id: str | None
    message: str


def request_power_action(server: Server, action: str, requested_by: str = "customer") -> PowerRequest:
    """Take the VM's lock for this action and queue the job.

    The lock is taken here, not in the job, so a second click gets 409 at once instead of
    queueing behind the first. The job releases it when it ends. A `start` while the server is
    being created needs no job: provisioning ends by starting the VM.
    """
    if action not in ACTIONS:
        raise PowerActionError(f"unknown action; use one of: {', '.join(ACTIONS)}", 400)
    state = states.state_of(server)
    if state == states.PROVISIONING and action == "start":
        return PowerRequest(None, "server will be running when created")
    try:
        states.check(server, Event.POWER, Actor.STAFF if requested_by.startswith("staff") else Actor.CUSTOMER)
    except states.TransitionRefused as refused:
        raise PowerActionError(STILL_CREATING if state == states.PROVISIONING else refused.message,
                               refused.status) from None
    token = vm_locks.acquire(server.id, f"power:{action}")
    if token is None:
        raise PowerActionError("another action is running on this server", 409)
    # The owner goes with the job: a retry, or a job that runs late, must not act for a new owner.
    job = queueing.enqueue(queueing.DEFAULT, JOB, server.id, action, token, requested_by, server.username,
                           job_timeout=vm_locks.DEFAULT_TTL_SECONDS)
    return PowerRequest(job.id, f"{action} requested")


def retry_power_action(server_id: int, action: str, _old_token: str, requested_by: str,
                       owner: str | None = None) -> PowerRequest:
    """Queue a failed power job again (arguments as the job had them) under a fresh VM lock.

    The old lock token is never reused (it may now belong to another operation), and the
    server must still belong to the owner the job was asked for.
    """
    server = db.session.get(Server, server_id)
    if server is None or owner is None or not server.busy or server.username != owner:
        raise PowerActionError(f"server {server_id} no longer belongs to the owner this job was for; not retried",
                               409)
    return request_power_action(server, action, requested_by=requested_by)


def carry_out_power_action(server_id: int, action: str, requested_by: str, owner: str | None = None) -> str:
    """Do the action on Proxmox and record the state read back from it; returns that status.

    `stop` asks the guest to shut down within PROXMOX_SHUTDOWN_TIMEOUT, then powers it off hard.
    The status is read back even when the action failed, so the row never shows a wish.
    A job asked for by one owner does nothing once the server belongs to someone else.
    """
    server = db.session.get(Server, server_id)
    if server is None:
        raise LookupError(f"no server {server_id}")
    if owner is not None and server.username != owner:
        raise LookupError(f"server {server_id} changed owner since the {action} was asked for")
    if action in ("start", "restart") and states.state_of(server) != states.ACTIVE:
        log.info("server %s is %s: a %s queued before that is dropped", server_id, states.state_of(server), action)
        return server.status
    proxmox = hypervisor.proxmox_client(server.node)
    before = server.status
    try:
        if action == "start":
            proxmox.start(server_id)
        elif action == "stop":
            _stop_gracefully(proxmox, server_id)
        elif action == "restart":
            # A stopped VM has nothing to reboot; starting it is what the customer wants.
            if proxmox.current_status(server_id) == "running":
                proxmox.reboot(server_id)
            else:
                proxmox.start(server_id)
        else:
            raise ValueError(f"unknown power action {action!r}")
    finally:
        _record_status(server, proxmox, action, requested_by, before)
    return server.status


def _stop_gracefully(proxmox, server_id: int) -> None:
    try:
        proxmox.shutdown(server_id, timeout=current_app.config["PROXMOX_SHUTDOWN_TIMEOUT"])
    except RemoteError as exc:
        log.warning("server %s: graceful shutdown failed (%s); stopping it hard", server_id, exc)
    if proxmox.current_status(server_id) != "stopped":
        proxmox.stop(server_id)


def _record_status(server: Server, proxmox, action: str, requested_by: str, before: str | None) -> None:
    try:
        real = proxmox.current_status(server.id)
    except RemoteError as exc:
        log.warning("server %s: cannot read the status back after %s: %s", server.id, action, exc)
        db.session.rollback()
        return
    server.status = ServerStatus.ON if real == "running" else ServerStatus.OFF
    audit.record(None, f"server.power.{action}", "server", server.id, before={"status": before},
                 after={"status": server.status, "requested_by": requested_by})
    db.session.commit()
