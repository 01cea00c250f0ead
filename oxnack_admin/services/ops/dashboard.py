"""The numbers on the console dashboard, and the geometry of its money chart."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import Date, and_, case, cast, func, or_, select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, ProvisioningRun, Server, Transaction, User
from oxnack_admin.models.enums import RunState, ServerStatus, TransactionStatus, TransactionType

# Money customers spent (debits, so negative amounts) net of what was given back (positive).
REVENUE_TYPES = (TransactionType.ORDER, TransactionType.RENEWAL, TransactionType.PROXY_PURCHASE,
                 TransactionType.REFUND, TransactionType.PROXY_REFUND)
# Money customers paid in through the gateway, net of what they took back by chargebacks.
TOP_UP_TYPES = (TransactionType.TOP_UP, TransactionType.CHARGEBACK)
CHART_WIDTH, CHART_HEIGHT, CHART_TOP, CHART_BOTTOM, CHART_LEFT = 1000, 220, 14, 24, 52


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


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    x_labels: list[tuple[float, str, str]]  # x, text, text-anchor
    y_labels: list[tuple[float, str]]
    baseline: float
    totals: dict


def money_chart(series: list[DayTotals]) -> Chart:
    """Bars for revenue and top-ups per day, scaled to the largest day; the template only draws them."""
    peak = max([max(d.revenue, d.top_ups) for d in series] + [Decimal(1)])
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    slot = (CHART_WIDTH - CHART_LEFT) / max(len(series), 1)
    bar_width = max(slot * 0.38, 1)
    baseline = CHART_TOP + plot_height
    bars, x_labels = [], []
    for index, totals in enumerate(series):
        left = CHART_LEFT + index * slot + slot * 0.1
        for offset, value, css, name in ((0, totals.revenue, "bar-revenue", "revenue"),
                                         (bar_width, totals.top_ups, "bar-topup", "top-ups")):
            height = float(max(value, 0) / peak) * plot_height
            bars.append(Bar(round(left + offset, 1), round(baseline - height, 1), round(bar_width, 1),
                            round(height, 1), css, f"{totals.day:%d.%m}: {name} {value}"))
        last = index == len(series) - 1
        if index % 5 == 0 or last:
            x_labels.append((round(left + bar_width, 1), f"{totals.day:%d.%m}", "end" if last else "middle"))
    digits = 0 if peak >= 10 else 2
    y_labels = [(round(baseline - plot_height * share, 1), f"{peak * Decimal(share):.{digits}f}") for share in (0, 0.5, 1)]
    totals = {"revenue": sum((d.revenue for d in series), Decimal(0)),
              "top_ups": sum((d.top_ups for d in series), Decimal(0))}
    return Chart(CHART_WIDTH, CHART_HEIGHT, bars, x_labels, y_labels, baseline, totals)


def proxy_sales(now: datetime | None = None) -> dict:
    """The dashboard's proxy line: roubles kept from proxy sales (net of refunds), in total and over 30 days."""
    from oxnack_admin.services.proxies import admin as proxies_admin

    return proxies_admin.dashboard_line(now or datetime.now(timezone.utc))


def recent_audit(limit: int = 10) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)))
