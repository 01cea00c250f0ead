"""The billing cycle (`flask billing-cycle`, hourly from the scheduler): one idempotent pass.

Each step lists candidate ids, then takes each server's row with FOR UPDATE SKIP LOCKED,
checks again that the step still applies, acts and commits: a concurrent pass either skips
a row that is being handled or finds it already moved on. "Now" is taken once per pass from
`clock.now()`, never from PostgreSQL, so tests can drive it.
"""
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import or_, select

from oxnack_admin.extensions import db
from oxnack_admin.models import Server
from oxnack_admin.models.enums import LifecycleState, ServerStatus, SuspendReason
from oxnack_admin.services.fleet import pool, states
from oxnack_admin.services.lifecycle import clock, history, renewal, suspension, termination
from oxnack_admin.services.money import ledger

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    """What one pass did, by server id."""

    dated: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    renewed: list[int] = field(default_factory=list)
    suspended: list[int] = field(default_factory=list)
    terminated: list[int] = field(default_factory=list)
    stops_requeued: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return ", ".join(f"{name}: {len(ids)}" for name, ids in vars(self).items())


def run_cycle(now: datetime | None = None) -> CycleReport:
    """Date adopted servers, mail reminders, renew or suspend at period end, terminate after the grace days."""
    now = now or clock.now()
    report = CycleReport()
    report.dated = _each(_undated(), lambda s: _date_adopted(s, now))
    report.reminded = _each(_remindable(now), lambda s: _remind(s, now))
    due = _each(_due(now), lambda s: _renew_or_suspend(s, now))
    report.renewed = [server_id for server_id, outcome in due if outcome == "renewed"]
    report.suspended = [server_id for server_id, outcome in due if outcome == "suspended"]
    report.terminated = _each(_expired(now), lambda s: _terminate(s, now))
    report.stops_requeued = _each(_suspended_but_running(now), _requeue_stop)
    log.info("billing cycle at %s: %s", now.isoformat(), report.summary())
    return report


def _each(server_ids: list[int], act) -> list:
    """Run `act` on each server's locked row in its own transaction; collect what it returned."""
    done = []
    for server_id in server_ids:
        try:
            server = renewal.lock_server(server_id, skip_locked=True)
            outcome = act(server) if server is not None else None
            if outcome:
                db.session.commit()
                done.append(server_id if outcome is True else (server_id, outcome))
            else:
                db.session.rollback()
        except Exception:
            db.session.rollback()
            log.exception("billing cycle: server %s failed; the next pass tries again", server_id)
    return done


# The states the cycle handles; NULL is a server the old system sold (dated on the first pass).
RENTED = (LifecycleState.ACTIVE, LifecycleState.SUSPENDED)


def _sold():
    """Servers a customer holds and the cycle may handle (not flagged for staff, not being provisioned)."""
    return (Server.busy.is_(True), Server.username.is_not(None), Server.attention.is_(None),
            or_(Server.lifecycle_state.is_(None), Server.lifecycle_state.in_(RENTED)))


def _ids(*conditions) -> list[int]:
    return list(db.session.scalars(select(Server.id).where(*_sold(), *conditions).order_by(Server.id)))


def _is_sold(server: Server) -> bool:
    return bool(server.busy and server.username and server.attention is None
                and states.state_of(server) in RENTED)


# --- adopted servers without dates ---------------------------------------------------------------

def _undated() -> list[int]:
    return _ids((Server.paid_until.is_(None)) | (Server.lifecycle_state.is_(None)))


def _date_adopted(server: Server, now: datetime) -> bool:
    """A server sold by the old system: the owner's legacy date_stop, else a grace date (see README)."""
    if not _is_sold(server) or (server.paid_until is not None and server.lifecycle_state is not None):
        return False
    server.lifecycle_state = server.lifecycle_state or LifecycleState.ACTIVE
    if server.paid_until is None:
        owner = pool.owner_of(server)
        config = current_app.config
        legacy_stop = parse_legacy_date(owner.date_stop if owner else None)
        notice = now + timedelta(days=max(config["RENEWAL_REMINDER_DAYS"] or [0]))
        # A date already past (or about to be) would cut the owner off with no warning at all.
        server.paid_until = max(legacy_stop, notice) if legacy_stop else now + timedelta(
            days=config["LEGACY_DEFAULT_PAID_DAYS"])
        server.rented_at = server.rented_at or parse_legacy_date(owner.date_start if owner else None)
        history.record(server, "dated", legacy_date_stop=owner.date_stop if owner else None,
                       date_stop=server.paid_until)
    return True


def parse_legacy_date(value: str | None) -> datetime | None:
    """The legacy 'dd.mm.yyyy' text as midnight UTC of that day; None when empty or unreadable."""
    try:
        return datetime.strptime((value or "").strip(), "%d.%m.%Y").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


# --- reminders -----------------------------------------------------------------------------------

def _reminder_days() -> list[int]:
    return sorted({int(days) for days in current_app.config["RENEWAL_REMINDER_DAYS"] or []}, reverse=True)


def _remindable(now: datetime) -> list[int]:
    days = _reminder_days()
    if not days:
        return []
    return _ids(Server.lifecycle_state == LifecycleState.ACTIVE, Server.paid_until > now,
                Server.paid_until <= now + timedelta(days=days[0]))


def _remind(server: Server, now: datetime) -> bool:
    """One mail per reminder day; a pass that missed the 3-day mark sends only the 1-day one."""
    if not _is_sold(server) or server.lifecycle_state != LifecycleState.ACTIVE or server.paid_until <= now:
        return False
    due = [days for days in _reminder_days() if server.paid_until - now <= timedelta(days=days)]
    if not due or (server.reminded_days is not None and server.reminded_days <= min(due)):
        return False
    server.reminded_days = min(due)
    owner = pool.owner_of(server)
    price = renewal.renewal_price(server)
    covered = bool(owner and server.auto_renew and ledger.balance_of(owner.id) >= price)
    history.record(server, "reminded", days=server.reminded_days, date_stop=server.paid_until)
    history.mail_owner(owner, "lifecycle_reminder", server, days_left=server.reminded_days,
                       date_stop=history.shown_date(server.paid_until), price=ledger.as_json_number(price),
                       auto_renew=server.auto_renew, covered=covered)
    return True


# --- the period end ------------------------------------------------------------------------------

def _due(now: datetime) -> list[int]:
    return _ids(Server.lifecycle_state == LifecycleState.ACTIVE, Server.paid_until <= now)


def _renew_or_suspend(server: Server, now: datetime) -> str | None:
    if not _is_sold(server) or server.lifecycle_state != LifecycleState.ACTIVE or server.paid_until > now:
        return None
    owner = pool.owner_of(server)
    if owner is not None and server.auto_renew:
        try:
            renewal.renew(server, owner, now=now, source="auto")
            return "renewed"
        except ledger.InsufficientFunds:
            pass
    reason = "auto_renew_off" if not server.auto_renew else "small_balance"
    suspension.suspend(server, owner, now=now, reason=reason)
    return "suspended"


# --- termination ---------------------------------------------------------------------------------

def _expired(now: datetime) -> list[int]:
    """Suspended for non-payment past the grace days; a staff hold waits for staff to decide."""
    grace = timedelta(days=current_app.config["SUSPEND_GRACE_DAYS"])
    return _ids(Server.lifecycle_state == LifecycleState.SUSPENDED, Server.suspend_reason == SuspendReason.UNPAID,
                Server.paid_until <= now - grace)


def _terminate(server: Server, now: datetime) -> bool:
    if not _is_sold(server) or server.lifecycle_state != LifecycleState.SUSPENDED or \
            server.suspend_reason != SuspendReason.UNPAID or termination.termination_date(server) > now:
        return False
    termination.terminate(server, pool.owner_of(server), reason="grace_period_over")
    return True


# --- a suspended VM that still runs (its stop job failed for good, or someone started it) ---------

STOP_GRACE = timedelta(minutes=30)  # the stop job queued at suspension gets this long before a second one


def _suspended_but_running(now: datetime) -> list[int]:
    return _ids(Server.lifecycle_state == LifecycleState.SUSPENDED, Server.suspended_at <= now - STOP_GRACE,
                Server.status.is_distinct_from(ServerStatus.OFF))


def _requeue_stop(server: Server) -> bool:
    if server.lifecycle_state != LifecycleState.SUSPENDED or server.status == ServerStatus.OFF:
        return False
    renewal.schedule_power(server.id, "stop")
    return True
