"""What staff do with a server's rental: renew (charged or free), suspend, unsuspend, terminate,
release to the pool, move the period end, retry a failed wipe; and what the console shows
(expiries, history, wipes).

Each action locks the server's row, is audited, and leaves the commit to the caller.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import ProvisioningRun, Server, ServerEvent, ServerWipe, User
from oxnack_admin.models.enums import LifecycleState, RunState, SuspendReason, WipeReason
from oxnack_admin.services.fleet import pool, states, vm_locks
from oxnack_admin.services.fleet.states import Actor
from oxnack_admin.services.lifecycle import clock, history, renewal, suspension, termination
from oxnack_admin.services.staff import audit


class LifecycleActionError(ValueError):
    """The action does not apply to this server now; the message says why."""


class ReleaseRefused(Exception):
    """The server cannot be released now; the message says why (for the console)."""


def _locked_sold(server_id: int) -> Server:
    server = renewal.lock_server(server_id)
    if server is None:
        raise LifecycleActionError(f"No server {server_id}.")
    if not server.busy or not server.username or server.lifecycle_state == LifecycleState.WIPING:
        raise LifecycleActionError(f"VM {server_id} is not rented to anyone.")
    return server


def _refused(action):
    """Run a state change; a move the state machine refuses becomes the console's message."""
    try:
        return action()
    except states.TransitionRefused as refused:
        raise LifecycleActionError(f"{refused}.") from None


def _state(server: Server) -> dict:
    return {"lifecycle_state": server.lifecycle_state, "paid_until": server.paid_until, "auto_renew": server.auto_renew}


def renew_by_hand(server_id: int, staff, *, charge: bool) -> datetime:
    """Extend by RENTAL_DAYS; charged from the owner's balance (InsufficientFunds) or free."""
    server = _locked_sold(server_id)
    owner = pool.owner_of(server)
    if owner is None:
        raise LifecycleActionError("The owner's account is gone; change the period end instead.")
    before, now = _state(server), clock.now()
    if charge:
        try:
            renewal.refuse_repeat(server, now)  # a double submit charges once; a free renewal is a gift
        except renewal.RenewalRefused:
            raise LifecycleActionError(f"VM {server_id} was renewed less than {_repeat_hours()} h ago: "
                                       "renew it free, or change the period end.") from None
    new_end = _refused(lambda: renewal.renew(server, owner, now=now, charge=charge, staff=staff, source="staff",
                                             actor=Actor.STAFF))
    audit.record(staff, "server.renew" if charge else "server.renew_free", "server", server.id, before=before,
                 after=_state(server))
    return new_end


def suspend_now(server_id: int, staff) -> None:
    server = _locked_sold(server_id)
    if states.is_staff_hold(server):
        raise LifecycleActionError(f"VM {server_id} is suspended by staff already.")
    before = _state(server)
    _refused(lambda: suspension.suspend(server, pool.owner_of(server), staff=staff, reason="staff"))
    audit.record(staff, "server.suspend", "server", server.id, before=before, after=_state(server))


def unsuspend(server_id: int, staff) -> None:
    server = _locked_sold(server_id)
    if server.lifecycle_state != LifecycleState.SUSPENDED:
        raise LifecycleActionError(f"VM {server_id} is not suspended.")
    if server.paid_until is None or server.paid_until <= clock.now():
        raise LifecycleActionError("Its period has ended: renew it, or move the period end first.")
    before = _state(server)
    _refused(lambda: suspension.unsuspend(server, staff=staff))
    audit.record(staff, "server.unsuspend", "server", server.id, before=before, after=_state(server))


def terminate_now(server_id: int, staff) -> ServerWipe:
    server = _locked_sold(server_id)
    before = {**_state(server), "username": server.username}
    try:
        wipe = _refused(lambda: termination.terminate(server, pool.owner_of(server), staff=staff, reason="staff"))
    except termination.WipeRefused as exc:
        raise LifecycleActionError(str(exc)) from None
    audit.record(staff, "server.terminate", "server", server_id, before=before, after={"wipe_id": wipe.id})
    return wipe


def release_server(server_id: int, actor) -> ServerWipe:
    """Take the server from its owner and queue its wipe, which returns it to the pool; the caller commits.

    Refused while it is being provisioned, another operation holds the VM or a wipe is under way.
    """
    server = renewal.lock_server(server_id)
    if server is None:
        raise ReleaseRefused(f"no server {server_id}")
    unfinished = db.session.scalar(select(ProvisioningRun.id).where(
        ProvisioningRun.server_id == server_id, ProvisioningRun.state.in_([RunState.PENDING, RunState.RUNNING])))
    if unfinished:
        raise ReleaseRefused(f"server {server_id} is still being provisioned (run {unfinished})")
    held_by = vm_locks.holder(server_id)
    if held_by:
        raise ReleaseRefused(f"another operation is running on server {server_id} ({held_by})")
    pending = termination.open_wipe(server)
    if pending is not None:
        raise ReleaseRefused(f"server {server_id} is being wiped already (wipe {pending.id}, {pending.state}); "
                             "retry that wipe instead")
    before = {"username": server.username, "busy": server.busy, "attention": server.attention,
              "network_refs": server.network_refs}
    try:
        wipe = termination.start_wipe(server, WipeReason.RELEASE, staff=actor, actor=Actor.STAFF)
    except (termination.WipeRefused, states.TransitionRefused) as exc:
        raise ReleaseRefused(str(exc)) from None
    audit.record(actor, "server.release", "server", server_id, before=before,
                 after={"wipe_id": wipe.id, "username": None})
    return wipe


def change_period_end(server_id: int, staff, new_end: datetime) -> None:
    """Set date_stop by hand (a goodwill day, a correction); reminders start over for the new end."""
    server = _locked_sold(server_id)
    if new_end.tzinfo is None:
        new_end = new_end.replace(tzinfo=timezone.utc)
    if states.state_of(server) not in (states.ACTIVE, states.SUSPENDED):
        raise LifecycleActionError(f"VM {server_id} is {states.state_of(server)}: its period cannot be moved now.")
    before = _state(server)
    server.paid_until, server.reminded_days = new_end, None
    server.lifecycle_state = server.lifecycle_state or LifecycleState.ACTIVE
    history.record(server, "period_end_changed", staff=staff, previous_end=before["paid_until"], date_stop=new_end)
    audit.record(staff, "server.period_end", "server", server.id, before=before, after=_state(server))


def retry_wipe(wipe_id: int, staff) -> ServerWipe:
    try:
        return termination.retry_wipe(wipe_id, staff)
    except termination.WipeRefused as exc:
        raise LifecycleActionError(str(exc)) from None


def _repeat_hours() -> int:
    return current_app.config["RENEWAL_REPEAT_HOURS"]


@dataclass(frozen=True)
class Expiry:
    server: Server
    owner: User | None
    price: object
    covered: bool


def upcoming_expiries(days: int = 7, limit: int = 50) -> list[Expiry]:
    """Rented servers whose period ends within `days` (or has ended and is suspended), soonest first."""
    now = clock.now()
    rows = db.session.execute(
        select(Server, User).outerjoin(User, User.username == Server.username)
        .where(Server.busy.is_(True), Server.lifecycle_state.in_([LifecycleState.ACTIVE, LifecycleState.SUSPENDED]),
               Server.paid_until <= now + timedelta(days=days))
        .order_by(Server.paid_until, Server.id).limit(limit)).all()
    return [Expiry(server, owner, renewal.renewal_price(server),
                   bool(owner and server.auto_renew and (owner.balance or 0) >= renewal.renewal_price(server)))
            for server, owner in rows]


@dataclass(frozen=True)
class LifecycleView:
    """The server page's rental panel."""

    state: str
    date_stop: datetime | None
    terminate_on: datetime | None
    price: object
    events: list[ServerEvent]
    wipes: list[ServerWipe]


def lifecycle_view(server: Server) -> LifecycleView:
    wipes = list(db.session.scalars(select(ServerWipe).where(ServerWipe.server_id == server.id)
                                    .order_by(ServerWipe.id.desc()).limit(10)))
    state = server.lifecycle_state or ("pool" if not server.busy else LifecycleState.ACTIVE)
    # A staff hold is never terminated by the cycle; staff decide.
    terminate_on = termination.termination_date(server) if server.lifecycle_state == LifecycleState.SUSPENDED \
        and server.suspend_reason != SuspendReason.STAFF else None
    return LifecycleView(state, server.paid_until, terminate_on, renewal.renewal_price(server),
                         history.events_of(server.id), wipes)
