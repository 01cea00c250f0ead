"""Termination and the wipe: no VM returns to the pool with a disk another customer used.

A wipe is a row (`server_wipes`) whose steps are recorded as they finish, carried out by
`jobs.lifecycle.wipe_server`: stop the VM, destroy it with its disks, re-create it as a full
clone of its OS template under the same VMID (waiting for each task and for the clone lock),
remove its pfSense objects, then return the row to the pool. A retry resumes at the first step
not done. While a wipe runs the row is sold to nobody and offered to nobody (busy, no owner);
a wipe that fails for good flags the row (`attention`) until staff retry it.
"""
import logging
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import select

from oxnack_admin.clients.errors import PermanentRemoteError
from oxnack_admin.extensions import db
from oxnack_admin.models import Server, ServerWipe, User
from oxnack_admin.models.enums import RunState, ServerStatus, WipeReason, WipeStepName, WIPE_STEPS
from oxnack_admin.services.fleet import hypervisor, states, vm_locks
from oxnack_admin.services.fleet.release import remove_network, return_to_pool
from oxnack_admin.services.fleet.states import Actor, Event
from oxnack_admin.services.lifecycle import clock, history
from oxnack_admin.services.ops import advisory_locks, queueing
from oxnack_admin.services.ops.retryable import describe, is_transient
from oxnack_admin.services.staff import audit
from oxnack_admin.services.support import alerts

log = logging.getLogger(__name__)

JOB = "jobs.lifecycle.wipe_server"
ADVISORY_LOCK_CLASS = advisory_locks.SERVER_WIPE  # first key of the wipes' advisory locks; the second is the wipe id
UNFINISHED = (RunState.PENDING, RunState.RUNNING, RunState.FAILED)


class WipeRefused(Exception):
    """The wipe cannot start or be retried now; the message says why (for the console)."""


def termination_date(server: Server) -> datetime | None:
    """When a suspended server is terminated: SUSPEND_GRACE_DAYS after its period end."""
    if server.paid_until is None:
        return None
    return server.paid_until + timedelta(days=current_app.config["SUSPEND_GRACE_DAYS"])


def open_wipe(server: Server) -> ServerWipe | None:
    return db.session.scalar(select(ServerWipe).where(ServerWipe.server_id == server.id,
                                                      ServerWipe.state.in_(UNFINISHED)).order_by(ServerWipe.id.desc()))


def start_wipe(server: Server, reason: str, *, staff=None, actor: Actor | None = None) -> ServerWipe:
    """Take the locked server from its owner and queue its wipe once the caller commits.

    Raises states.TransitionRefused when its state allows no wipe (being provisioned, say).
    """
    if open_wipe(server) is not None:
        raise WipeRefused(f"server {server.id} is being wiped already")
    event = Event.TERMINATE if reason == WipeReason.TERMINATION else Event.RELEASE
    states.move(server, event, actor or (Actor.STAFF if staff is not None else Actor.SYSTEM))
    wipe = ServerWipe(server_id=server.id, reason=reason, previous_owner=server.username,
                      staff_id=getattr(staff, "id", None), steps_done=[])
    db.session.add(wipe)
    history.record(server, "wipe.started", staff=staff, reason=reason)
    # The owner loses it now; `busy` keeps it out of the pool until the wipe is done.
    server.busy, server.username, server.passwd, server.suspended_at = True, None, None, None
    db.session.flush()
    schedule(wipe)
    return wipe


def terminate(server: Server, owner: User | None, *, staff=None, reason: str) -> ServerWipe:
    """Terminate the locked server: tell the owner, then wipe it back into the pool."""
    states.check(server, Event.TERMINATE, Actor.STAFF if staff is not None else Actor.SYSTEM)
    history.mail_owner(owner, "lifecycle_terminated", server, reason=reason,
                       date_stop=history.shown_date(server.paid_until))
    history.record(server, "terminated", staff=staff, reason=reason, date_stop=server.paid_until)
    return start_wipe(server, WipeReason.TERMINATION, staff=staff)


def schedule(wipe: ServerWipe) -> None:
    queueing.enqueue_after_commit(queueing.PROVISIONING, JOB, wipe.id, **queueing.provisioning_job_options())


def retry_wipe(wipe_id: int, staff) -> ServerWipe:
    """Staff retry of a failed wipe from its failed step; the row stays flagged until it is done."""
    wipe = db.session.scalar(select(ServerWipe).where(ServerWipe.id == wipe_id).with_for_update())
    if wipe is None:
        raise WipeRefused(f"no wipe {wipe_id}")
    if wipe.state == RunState.DONE:
        raise WipeRefused(f"wipe {wipe_id} is done already")
    before = {"state": wipe.state, "error": wipe.error}
    wipe.state, wipe.error, wipe.finished_at = RunState.PENDING, None, None
    audit.record(staff, "server.wipe_retry", "server", wipe.server_id, before=before, after={"wipe_id": wipe.id})
    db.session.flush()
    schedule(wipe)
    return wipe


def resume_stuck_wipes(older_than_minutes: float | None = None) -> list[int]:
    """Queue again every unfinished wipe untouched for a while (its worker died or its job was lost)."""
    minutes = current_app.config["PROVISIONING_STUCK_MINUTES"] if older_than_minutes is None else older_than_minutes
    real_now = datetime.now(timezone.utc)  # stuck is about real time (updated_at), not the rental's clock
    cutoff = real_now - timedelta(minutes=minutes)
    stuck = list(db.session.scalars(select(ServerWipe).where(
        ServerWipe.state.in_([RunState.PENDING, RunState.RUNNING]), ServerWipe.updated_at <= cutoff)))
    for wipe in stuck:
        log.warning("wipe %s looks stuck; queueing it again", wipe.id)
        # Touched, so the next sweeps give the job queued now its time (behind a long queue every
        # pass queued the same wipe again: the snowball the soak found for runs).
        wipe.updated_at = real_now
        queueing.enqueue_after_commit(queueing.PROVISIONING, JOB, wipe.id, **queueing.provisioning_job_options())
    db.session.commit()
    return [wipe.id for wipe in stuck]


def carry_out(wipe_id: int, *, last_attempt: bool = True, max_steps: int | None = None) -> ServerWipe | None:
    """Carry the wipe on from its first step not done; commits each step, raises when one fails.

    With `max_steps`, stop after that many steps, the wipe left RUNNING for the next call to resume.
    """
    with advisory_locks.try_exclusive(ADVISORY_LOCK_CLASS, wipe_id) as ours:
        if not ours:
            log.info("wipe %s is being carried out by another worker", wipe_id)
            return None
        wipe = db.session.get(ServerWipe, wipe_id)
        if wipe is None or wipe.is_final:
            return wipe
        server_id, token = wipe.server_id, None
        try:
            token = vm_locks.acquire_for_attempt(server_id, f"wipe:{wipe_id}", "the wipe")
            _carry_out(wipe, max_steps)
        except Exception as exc:
            _record_failure(wipe_id, exc, final=last_attempt or not is_transient(exc))
            raise
        finally:
            if token:
                vm_locks.release(server_id, token)
        return wipe


def _carry_out(wipe: ServerWipe, max_steps: int | None = None) -> None:
    wipe.state, wipe.attempts = RunState.RUNNING, wipe.attempts + 1
    db.session.commit()
    for step in WIPE_STEPS:
        if step in wipe.steps_done:
            continue
        if max_steps is not None and max_steps <= 0:
            return  # still RUNNING: the next carry_out() resumes here
        max_steps = None if max_steps is None else max_steps - 1
        wipe.current_step = step
        db.session.commit()
        server = db.session.get(Server, wipe.server_id)
        log.info("wipe %s of VM %s: %s", wipe.id, server.id, step)
        STEPS[step](server)
        wipe.steps_done = [*wipe.steps_done, step]
        db.session.commit()
    wipe.state, wipe.current_step, wipe.error, wipe.finished_at = RunState.DONE, None, None, clock.now()
    db.session.commit()
    log.info("wipe %s done: VM %s is back in the pool", wipe.id, wipe.server_id)


def _record_failure(wipe_id: int, exc: Exception, *, final: bool) -> None:
    db.session.rollback()
    wipe = db.session.get(ServerWipe, wipe_id)
    error = f"{wipe.current_step}: {describe(exc)}"
    wipe.error = error
    if final:
        wipe.state, wipe.finished_at = RunState.FAILED, clock.now()
        server = db.session.get(Server, wipe.server_id)
        server.attention = f"wipe {wipe.id} failed at {error}"[:500]
        history.record(server, "wipe.failed", username=wipe.previous_owner, error=error)
        audit.record(None, "server.wipe_failed", "server", server.id, after={"wipe_id": wipe.id, "error": error})
        alerts.alert("wipe_failed", f"Wipe {wipe.id} of server {server.id} failed at {error}",
                     ("console.servers_show", {"server_id": server.id}))
    db.session.commit()
    log.warning("wipe %s failed%s: %s", wipe_id, " for good" if final else "", error)


# --- the steps ---------------------------------------------------------------------------------

def stop_vm(server: Server) -> None:
    """Stop the VM if it exists (a reinstall's first step too)."""
    proxmox = hypervisor.proxmox_client(server.node)
    if proxmox.vm_exists(server.id):
        proxmox.stop(server.id)  # PVE refuses to destroy a running VM
    server.status = ServerStatus.OFF


def destroy_vm(server: Server) -> None:
    """Destroy the VM with its disks; never an OS template."""
    templates = {int(t["template_vmid"]) for t in current_app.config["OS_TEMPLATES"].values()}
    if server.id in templates:
        raise PermanentRemoteError(f"VM {server.id} is an OS template in OS_TEMPLATES; it is never destroyed")
    proxmox = hypervisor.proxmox_client(server.node)
    if proxmox.vm_exists(server.id):
        if proxmox.get_config(server.id).get("template"):
            raise PermanentRemoteError(f"VM {server.id} is a template on Proxmox; it is never destroyed")
        proxmox.destroy(server.id)


def clone_template(server: Server, name: str | None = None) -> None:
    """Full clone of the template of `server.os` under the server's VMID (an earlier attempt's clone: waited for)."""
    template = (current_app.config["OS_TEMPLATES"].get(server.os or "") or {}).get("template_vmid")
    if template is None:
        raise PermanentRemoteError(f"no OS template configured for {server.os!r} (OS_TEMPLATES)")
    proxmox = hypervisor.proxmox_client(server.node)
    if proxmox.vm_exists(server.id):
        config = proxmox.wait_unlocked(server.id)  # an earlier attempt's clone: let it finish
    else:
        config = proxmox.clone(int(template), server.id, name or f"pool-{server.os}-{server.id}",
                               current_app.config["PROXMOX_STORAGE"])
    # The row shows the fresh VM as it is until the next order sizes it.
    server.cores = int(config.get("cores") or server.cores or 1)
    server.ram = max(int(config.get("memory") or 1024) // 1024, 1)
    server.hdd = int(proxmox.disk_size_gb(config, proxmox.find_disk_key(config))) or server.hdd


def _network(server: Server) -> None:
    remove_network(server)
    server.network_refs = None


def _return(server: Server) -> None:
    wipe = db.session.scalar(select(ServerWipe).where(ServerWipe.server_id == server.id,
                                                      ServerWipe.state == RunState.RUNNING))
    states.move(server, Event.WIPED, Actor.SYSTEM)
    return_to_pool(server)
    server.status = ServerStatus.OFF
    history.record(server, "wipe.done", username=wipe.previous_owner if wipe else None)
    audit.record(None, "server.wiped", "server", server.id, after={"wipe_id": wipe.id if wipe else None,
                                                                    "busy": False})


STEPS = {WipeStepName.STOP: stop_vm, WipeStepName.DESTROY: destroy_vm, WipeStepName.CLONE: clone_template,
         WipeStepName.NETWORK: _network, WipeStepName.RETURN_TO_POOL: _return}
