"""Suspension: the VM stopped and power refused until the server is renewed, unsuspended or terminated.

Its reason decides who may lift it: a suspension for non-payment ends with a renewal (the
customer's, or the one a top-up triggers); a staff hold only by staff (services/fleet/states.py).
"""
import logging
from datetime import datetime

from oxnack_admin.extensions import db
from oxnack_admin.models import Server, User
from oxnack_admin.models.enums import LifecycleState, SuspendReason
from oxnack_admin.services.fleet import power, states, vm_locks
from oxnack_admin.services.fleet.states import Actor, Event
from oxnack_admin.services.lifecycle import clock, history
from oxnack_admin.services.lifecycle.renewal import schedule_power
from oxnack_admin.services.lifecycle.termination import termination_date

log = logging.getLogger(__name__)

# What state a server must still be in for a queued power change to be carried out.
WANTED_STATE = {"stop": LifecycleState.SUSPENDED, "start": LifecycleState.ACTIVE}


def suspend(server: Server, owner: User | None, *, now: datetime | None = None, staff=None, reason: str) -> None:
    """Suspend the locked server: refuse power now, stop the VM after the commit, tell the owner.

    With `staff` it is a staff hold (also over a suspension for non-payment); without, the
    billing cycle's suspension for non-payment. Raises states.TransitionRefused.
    """
    now = now or clock.now()
    actor, hold = (Actor.STAFF, SuspendReason.STAFF) if staff is not None else (Actor.SYSTEM, SuspendReason.UNPAID)
    was_suspended = states.state_of(server) == states.SUSPENDED
    states.move(server, Event.SUSPEND, actor, suspend_reason=hold)
    history.record(server, "suspended", staff=staff, reason=reason, hold=hold, date_stop=server.paid_until)
    if was_suspended:
        return  # the VM is stopped and the owner told already; only who may lift it changed
    server.suspended_at = now
    schedule_power(server.id, "stop")
    history.mail_owner(owner, "lifecycle_suspended", server, reason=reason,
                       date_stop=history.shown_date(server.paid_until),
                       terminate_on=history.shown_date(termination_date(server)))


def unsuspend(server: Server, *, staff) -> None:
    """Lift a suspension without renewing (the period must still run); the VM starts after the commit."""
    states.move(server, Event.UNSUSPEND, Actor.STAFF)
    server.suspended_at = None
    schedule_power(server.id, "start")
    history.record(server, "unsuspended", staff=staff, date_stop=server.paid_until)


def enforce_power(server_id: int, action: str) -> str | None:
    """Stop a suspended VM or start a resumed one, if the server is still in that state; returns the status."""
    server = db.session.get(Server, server_id)
    if server is None or not server.busy or server.lifecycle_state != WANTED_STATE[action]:
        log.info("server %s: %s not needed any more", server_id, action)
        return None
    token = vm_locks.acquire(server_id, f"lifecycle:{action}")
    if token is None:
        raise vm_locks.VmBusy(f"VM {server_id} is busy ({vm_locks.holder(server_id)}); {action} tried again later")
    try:
        return power.carry_out_power_action(server_id, action, "lifecycle")
    finally:
        vm_locks.release(server_id, token)
