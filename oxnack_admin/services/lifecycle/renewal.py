"""Renewing a rental: from the balance at today's prices, automatically, by the customer or by staff.

Every function that changes a server expects its row locked by the caller (FOR UPDATE), so two
passes, a top-up and a click on "renew" never renew the same period twice; the ledger row's
idempotency key (`renewal:<server>:<period end>`) makes that certain even across processes.
"""
import logging
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import Server, User
from oxnack_admin.models.enums import LifecycleState, TransactionType
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
    """One renewal per server and period end, whoever asks for it."""
    return f"renewal:{server.id}:{server.paid_until:%Y%m%dT%H%M%S%f}"


def lock_server(server_id: int, *, skip_locked: bool = False) -> Server | None:
    query = select(Server).where(Server.id == server_id).with_for_update(skip_locked=skip_locked)
    return db.session.scalar(query.execution_options(populate_existing=True))


def renew(server: Server, owner: User, *, now: datetime | None = None, charge: bool = True, staff=None,
          source: str = "auto") -> datetime:
    """Extend the locked server by RENTAL_DAYS, charging its owner unless `charge` is False.

    An active server's period runs on from its old end; one out of suspension from `now` (days
    spent suspended are not billed) and is started again after the commit. Raises
    ledger.InsufficientFunds (nothing changed) when the balance does not cover the price.
    """
    now = now or clock.now()
    days = current_app.config["RENTAL_DAYS"]
    price = renewal_price(server) if charge else Decimal(0)
    old_end, suspended = server.paid_until, server.lifecycle_state == LifecycleState.SUSPENDED
    # A period that ended so long ago that one more would still be over (the scheduler was down)
    # starts from now: a customer is never charged for months in arrears in one go.
    runs_on = old_end is not None and not suspended and old_end + timedelta(days=days) > now
    new_end = (old_end if runs_on else now) + timedelta(days=days)
    if charge and price > 0:
        with db.session.begin_nested():  # a refused debit leaves the caller's transaction intact
            row = ledger.move_money(owner.id, -price, TransactionType.RENEWAL,
                                    f"server {server.id}: renewed until {new_end:%d.%m.%Y}", server_id=server.id,
                                    staff_id=getattr(staff, "id", None), idempotency_key=renewal_key(server))
        if row is None:
            log.warning("server %s: period ending %s was renewed already", server.id, old_end)
            return server.paid_until
    server.paid_until, server.reminded_days = new_end, None
    if suspended:
        server.lifecycle_state, server.suspended_at = LifecycleState.ACTIVE, None
        schedule_power(server.id, "start")
    history.record(server, "renewed", staff=staff, source=source, price=str(price), charged=charge,
                   previous_end=old_end, date_stop=new_end, from_suspension=suspended)
    history.mail_owner(owner, "lifecycle_renewed", server, date_stop=history.shown_date(new_end),
                       price=ledger.as_json_number(price), resumed=suspended)
    return new_end


def renew_for_customer(user: User, server_id: int) -> datetime:
    """/renew_server: renew a server of this customer now; commits. Raises RenewalRefused or InsufficientFunds."""
    try:
        server = lock_server(server_id)
        if server is None or not server.busy or server.username != user.username:
            raise RenewalRefused("not found", 404)
        if server.lifecycle_state not in (LifecycleState.ACTIVE, LifecycleState.SUSPENDED, None) or server.attention:
            raise RenewalRefused("server unavailable")
        now = clock.now()
        if server.paid_until and server.paid_until - now > timedelta(days=current_app.config["RENEWAL_AHEAD_MAX_DAYS"]):
            raise RenewalRefused("already renewed")  # a double click must not pay two periods
        if server.lifecycle_state is None:
            server.lifecycle_state = LifecycleState.ACTIVE
        new_end = renew(server, user, now=now, source="customer")
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return new_end


def set_auto_renew(user: User, server_id: int, enabled: bool) -> bool:
    """/auto_renew: switch automatic renewal of this customer's server; commits."""
    server = lock_server(server_id)
    if server is None or not server.busy or server.username != user.username:
        db.session.rollback()
        raise RenewalRefused("not found", 404)
    if server.auto_renew != enabled:
        server.auto_renew = enabled
        history.record(server, "auto_renew.on" if enabled else "auto_renew.off", source="customer")
    db.session.commit()
    return server.auto_renew


def resume_suspended_after_credit(user_id: int) -> list[int]:
    """Renew and restart the user's suspended servers that their balance now covers; commits each.

    Call it after any commit that added money (a top-up, a staff credit). Servers whose owner
    switched auto-renew off stay suspended: they renew only when asked to.
    """
    user = db.session.get(User, user_id)
    if user is None or not user.username:
        return []
    candidates = db.session.scalars(select(Server.id).where(
        Server.username == user.username, Server.busy.is_(True), Server.auto_renew.is_(True),
        Server.lifecycle_state == LifecycleState.SUSPENDED).order_by(Server.paid_until, Server.id)).all()
    resumed = []
    for server_id in candidates:
        try:
            server = lock_server(server_id, skip_locked=True)
            if server is None or server.lifecycle_state != LifecycleState.SUSPENDED or \
                    server.username != user.username or not server.auto_renew:
                db.session.rollback()
                continue
            renew(server, user, source="credit")
            db.session.commit()
            resumed.append(server_id)
        except ledger.InsufficientFunds:
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
    from oxnack_admin.services.provisioning.runs import retry_policy

    queueing.enqueue_after_commit(queueing.DEFAULT, POWER_JOB, server_id, action, retry=retry_policy())
