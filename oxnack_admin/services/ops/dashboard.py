"""The numbers on the console dashboard, read across customers, servers, money, proxies and the audit log."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import Date, and_, case, cast, func, or_, select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, ProvisioningRun, Server, Transaction, User
from oxnack_admin.models.enums import RunState, ServerStatus, TransactionStatus, TransactionType
from oxnack_admin.services.proxies import admin as proxies_admin

# Money customers spent (debits, so negative amounts) net of what was given back (positive).
REVENUE_TYPES = (TransactionType.ORDER, TransactionType.RENEWAL, TransactionType.PROXY_PURCHASE,
                 TransactionType.REFUND, TransactionType.PROXY_REFUND)
# Money customers paid in through the gateway, net of what they took back by chargebacks.
TOP_UP_TYPES = (TransactionType.TOP_UP, TransactionType.CHARGEBACK)


def customer_counts(now: datetime | None = None) -> dict:
    now = now or datetime.now(timezone.utc)
    total, new = db.session.execute(select(
        func.count(User.id), func.count(User.id).filter(User.created_at >= now - timedelta(days=7)))).one()
    return {"total": total, "new_this_week": new}


def server_counts() -> dict:
    """Sold servers running and stopped, free pool VMs per OS, VMs needing attention, failed runs."""
    sold = Server.busy.is_(True)
    running, stopped, attention = db.session.execute(select(
        func.count(Server.id).filter(sold, Server.status == ServerStatus.ON),
        func.count(Server.id).filter(sold, or_(Server.status.is_(None), Server.status != ServerStatus.ON)),
        func.count(Server.id).filter(Server.attention.is_not(None)),
    )).one()
    free = db.session.execute(
        select(Server.os, func.count(Server.id))
        .where(or_(Server.busy.is_(False), Server.busy.is_(None)), Server.attention.is_(None))
        .group_by(Server.os).order_by(Server.os)
    ).all()
    failed = db.session.scalar(select(func.count(ProvisioningRun.id)).where(ProvisioningRun.state == RunState.FAILED))
    return {"running": running, "stopped": stopped, "attention": attention,
            "free_by_os": [(os_name or "—", count) for os_name, count in free],
            "free_total": sum(count for _, count in free), "failed_provisioning": failed}


@dataclass(frozen=True)
class DayTotals:
    day: date
    revenue: Decimal
    top_ups: Decimal


def money_by_day(days: int = 30, today: date | None = None) -> list[DayTotals]:
    """Revenue and confirmed top-ups per UTC day, oldest first, days without money included."""
    today = today or datetime.now(timezone.utc).date()
    first = today - timedelta(days=days - 1)
    day = cast(func.timezone("UTC", Transaction.created_at), Date)
    confirmed = or_(Transaction.status.is_(None), Transaction.status == TransactionStatus.CONFIRMED)
    rows = db.session.execute(
        select(day.label("day"),
               func.coalesce(-func.sum(case((Transaction.type.in_(REVENUE_TYPES), Transaction.amount))), 0),
               func.coalesce(func.sum(case((Transaction.type.in_(TOP_UP_TYPES), Transaction.amount))), 0))
        .where(confirmed, and_(day >= first, day <= today))
        .group_by(day)
    ).all()
    found = {row[0]: (Decimal(row[1]), Decimal(row[2])) for row in rows}
    return [DayTotals(d, *found.get(d, (Decimal(0), Decimal(0))))
            for d in (first + timedelta(days=i) for i in range(days))]


def proxy_sales(now: datetime | None = None) -> dict:
    """The dashboard's proxy line: roubles kept from proxy sales (net of refunds), in total and over 30 days."""
    return proxies_admin.dashboard_line(now or datetime.now(timezone.utc))


def recent_audit(limit: int = 10) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)))
