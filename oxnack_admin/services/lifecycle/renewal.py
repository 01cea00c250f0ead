"""Renewing a rental: from the balance at today's prices, automatically, by the customer or by staff.

Every function that changes a server expects its row locked by the caller (FOR UPDATE), so two
passes, a top-up and a click on "renew" take turns on a server, and the second finds what the
first did: a renewal made less than RENEWAL_REPEAT_HOURS ago refuses the customer's and staff's
(a double click, or a click after an auto-renewal), and the period moves on only from its end
(never shortened). Each renewal's ledger row has its own key (`renewal:<server>:n<count>`), so a
period end that staff moved back is charged again, never passed off as renewed already.
"""
import logging
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import Server, User
from oxnack_admin.models.enums import SuspendReason, TransactionType
from oxnack_admin.services.fleet import states
from oxnack_admin.services.fleet.states import Actor, Event
from oxnack_admin.services.lifecycle import clock, history
from oxnack_admin.services.money import ledger, pricing
from oxnack_admin.services.ops import queueing

log = logging.getLogger(__name__)

POWER_JOB = "jobs.lifecycle.enforce_power"
RESUME_JOB = "jobs.lifecycle.resume_suspended"


class RenewalRefused(Exception):
    """The server cannot be renewed now; `status` and `message` fit the classic answer."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.message, self.status = message, status


def renewal_price(server: Server) -> Decimal:
    """The server's cores, RAM and disk at today's prices, without any promo."""
    return pricing.base_price(pricing.Shape(server.cores or 0, server.ram or 0, server.hdd or 0))


def renewal_key(server: Server) -> str:
    """The ledger key of the server's next renewal: numbered, so no two renewals ever share one."""
    return f"renewal:{server.id}:n{(server.renewals or 0) + 1}"


def lock_server(server_id: int, *, skip_locked: bool = False) -> Server | None:
    query = select(Server).where(Server.id == server_id).with_for_update(skip_locked=skip_locked)
    return db.session.scalar(query.execution_options(populate_existing=True))


def owned_by(server: Server | None, user: User) -> bool:
    """The customer holds this server (a NULL username matches nobody)."""
    return bool(server is not None and server.busy and user.username and server.username == user.username)


def new_period_end(server: Server, now: datetime) -> datetime:
    """The end after one more period: from the old end while it runs (or just ran out), else from now.

    Never shortens a period: a suspended server with paid days left keeps them. One out of
    suspension for non-payment, or whose end passed more than a period ago (the scheduler was
    down), starts from now: days spent suspended are not billed, and nobody pays months in arrears.
    """
    period, old_end = timedelta(days=current_app.config["RENTAL_DAYS"]), server.paid_until
    if old_end is None:
        return now + period
    runs_on = old_end > now or (states.state_of(server) != states.SUSPENDED and old_end + period > now)
    return (old_end if runs_on else now) + period


def refuse_repeat(server: Server, now: datetime) -> None:
    """A renewal this soon after the last one is a repeat (a double click, a click after the auto-renewal)."""
    if server.renewed_at and now - server.renewed_at < timedelta(hours=current_app.config["RENEWAL_REPEAT_HOURS"]):
        raise RenewalRefused("already renewed")


def refuse_early(server: Server, now: datetime) -> None:
    """A customer renews at most RENEWAL_AHEAD_MAX_DAYS ahead of the period end."""
    if server.paid_until and server.paid_until - now > timedelta(days=current_app.config["RENEWAL_AHEAD_MAX_DAYS"]):
        raise RenewalRefused("already renewed")


def renew(server: Server, owner: User, *, now: datetime | None = None, charge: bool = True, staff=None,
          source: str = "auto", actor: Actor = Actor.SYSTEM) -> datetime:
    """Extend the locked server by one period, charging its owner unless `charge` is False.

    Raises states.TransitionRefused when its state does not allow a renewal by `actor`, and
    ledger.InsufficientFunds (nothing changed) when the balance does not cover the price. A server
    out of suspension is started again after the commit.
    """
    now = now or clock.now()
    suspended = states.state_of(server) == states.SUSPENDED
    states.check(server, Event.RENEW, actor)
    price = renewal_price(server) if charge else Decimal(0)
    old_end, new_end = server.paid_until, new_period_end(server, now)
    if charge and price > 0:
        _charge(server, owner, price, new_end, staff)
    server.renewals, server.renewed_at = (server.renewals or 0) + 1, now
    server.paid_until, server.reminded_days = new_end, None
    states.move(server, Event.RENEW, actor)
    if suspended:
        server.suspended_at = None
        schedule_power(server.id, "start")
    history.record(server, "renewed", staff=staff, source=source, price=str(price), charged=charge,
                   previous_end=old_end, date_stop=new_end, from_suspension=suspended)
    history.mail_owner(owner, "lifecycle_renewed", server, date_stop=history.shown_date(new_end),
                       price=ledger.as_json_number(price), resumed=suspended)
    return new_end


def _charge(server: Server, owner: User, price: Decimal, new_end: datetime, staff) -> None:
    """Debit one renewal under the next free key; a key already taken belongs to an earlier renewal."""
    for _ in range(100):
        with db.session.begin_nested():  # a refused debit leaves the caller's transaction intact
            row = ledger.move_money(owner.id, -price, TransactionType.RENEWAL,
                                    f"server {server.id}: renewed until {new_end:%d.%m.%Y}", server_id=server.id,
                                    staff_id=getattr(staff, "id", None), idempotency_key=renewal_key(server))
        if row is not None:
            return
        # Rows from before the count was kept, or written by hand: that renewal is not this one.
        log.warning("server %s: renewal key %s is taken by an earlier renewal; numbering on",
                    server.id, renewal_key(server))
        server.renewals = (server.renewals or 0) + 1
    raise RuntimeError(f"server {server.id}: no free renewal key")


def renew_for_customer(user: User, server_id: int) -> datetime:
    """/renew_server: renew a server of this customer now; commits. Raises RenewalRefused or InsufficientFunds."""
    try:
        server = lock_server(server_id)
        if not owned_by(server, user):
            raise RenewalRefused("not found", 404)
        try:
            states.check(server, Event.RENEW, Actor.CUSTOMER)
        except states.TransitionRefused as refused:
            raise RenewalRefused(refused.message, refused.status) from None
        now = clock.now()
        refuse_early(server, now)
        refuse_repeat(server, now)
        new_end = renew(server, user, now=now, source="customer", actor=Actor.CUSTOMER)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return new_end


def set_auto_renew(user: User, server_id: int, enabled: bool) -> bool:
    """/auto_renew: switch automatic renewal of this customer's server; commits."""
    server = lock_server(server_id)
    if not owned_by(server, user):
        db.session.rollback()
        raise RenewalRefused("not found", 404)
    try:
        states.check(server, Event.AUTO_RENEW, Actor.CUSTOMER)
    except states.TransitionRefused as refused:
        db.session.rollback()
        raise RenewalRefused(refused.message, refused.status) from None
    if server.auto_renew != enabled:
        server.auto_renew = enabled
        history.record(server, "auto_renew.on" if enabled else "auto_renew.off", source="customer")
    db.session.commit()
    return server.auto_renew


def resume_suspended_after_credit(user_id: int) -> list[int]:
    """Renew and restart the user's suspended servers that their balance now covers; commits each.

    Call it after any commit that added money (a top-up, a staff credit). Servers whose owner
    switched auto-renew off stay suspended: they renew only when asked to; a staff hold stays too.
    """
    user = db.session.get(User, user_id)
    if user is None or not user.username:
        return []
    candidates = db.session.scalars(select(Server.id).where(
        Server.username == user.username, Server.busy.is_(True), Server.auto_renew.is_(True),
        Server.lifecycle_state == states.SUSPENDED, Server.suspend_reason == SuspendReason.UNPAID).order_by(Server.paid_until, Server.id)).all()
    resumed = []
    for server_id in candidates:
        try:
            server = lock_server(server_id, skip_locked=True)
            if not owned_by(server, user) or server.lifecycle_state != states.SUSPENDED or not server.auto_renew:
                db.session.rollback()
                continue
            renew(server, user, source="credit")
            db.session.commit()
            resumed.append(server_id)
        except (ledger.InsufficientFunds, states.TransitionRefused):  # a staff hold came meanwhile
            db.session.rollback()
        except BaseException:
            db.session.rollback()
            raise
    if resumed:
        log.info("user %s: suspended servers %s renewed after a credit", user_id, resumed)
    return resumed


def schedule_resume_after_commit(user_id: int) -> None:
    """From inside a transaction that credits money: resume the user's suspended servers once it commits."""
    queueing.enqueue_after_commit(queueing.DEFAULT, RESUME_JOB, user_id)


def schedule_power(server_id: int, action: str) -> None:
    """Start or stop the VM once the caller commits (`enforce_power`), retried like provisioning."""
    queueing.enqueue_after_commit(queueing.DEFAULT, POWER_JOB, server_id, action, retry=queueing.retry_policy())
