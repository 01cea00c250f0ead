"""Proxy resale as staff run it: cleanup, stats, the inventory and orders listings, flagged orders."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, exists, func, or_, select

from oxnack_admin.extensions import db
from oxnack_admin.models import ProxyInventory, ProxyOrder, ProxySyncRun, Transaction, User
from oxnack_admin.models.enums import ProxyOrderState, ProxySyncTrigger, RunState, TransactionStatus, TransactionType
from oxnack_admin.services.money import ledger
from oxnack_admin.services.money.ledger import as_json_number
from oxnack_admin.services.ops import queueing
from oxnack_admin.services.paging import ListParams, Page, like_escape, paginate
from oxnack_admin.services.staff import audit
from . import sync
from .catalogue import KINDS, ON_SALE
from .sync import iso

INVENTORY_SORTS = {"id": ProxyInventory.id, "country": (ProxyInventory.country_code, ProxyInventory.id),
                   "speed": (ProxyInventory.speed, ProxyInventory.id),
                   "seen": (ProxyInventory.last_seen_at, ProxyInventory.id)}
INVENTORY_FILTERS = ("country", "type", "sale")
ORDER_SORTS = {"id": ProxyOrder.id, "state": (ProxyOrder.state, ProxyOrder.id)}
ORDER_FILTERS = ("state",)
SOLD_STATES = (ProxyOrderState.ACTIVE, ProxyOrderState.REFUNDING, ProxyOrderState.REFUNDED, ProxyOrderState.FLAGGED)
SYNC_JOB = "jobs.proxies.run_sync"


class ProxyAdminError(ValueError):
    """A staff action that cannot be done; the message says why."""


def start_sync(actor, country_code: str | None, page_size: int) -> ProxySyncRun:
    """A sync staff started: record the run and its audit event, commit, queue the job; raises sync.SyncBusy."""
    run = sync.start_run(ProxySyncTrigger.CONSOLE, staff_id=actor.id, requested_by=actor.email,
                         country_code=country_code, page_size=page_size)
    audit.record(actor, "proxies.sync", "proxy_sync_run", run.id,
                 after={"country_code": run.country_code, "page_size": run.page_size})
    db.session.commit()
    queueing.enqueue(queueing.DEFAULT, SYNC_JOB, run.id, job_timeout=3600)
    return run


def cleanup(actor=None) -> int:
    """Delete inventory rows that are off sale, unsold and never ordered; returns how many."""
    ordered = exists().where(ProxyOrder.inventory_id == ProxyInventory.id)
    removed = db.session.execute(delete(ProxyInventory).where(
        ProxyInventory.on_sale.is_(False), ProxyInventory.sold.is_(False), ~ordered)
        .returning(ProxyInventory.id)).scalars().all()
    audit.record(actor, "proxies.cleanup", "proxy_inventory", None, after={"removed": len(removed)})
    return len(removed)


def stats() -> dict:
    """The staff stats call's answer: stock, sales, refunds, revenue in roubles, countries, last sync."""
    inventory, countries = _stock()
    sold, refunded = _sales()
    last = db.session.scalar(select(func.max(ProxySyncRun.finished_at)).where(ProxySyncRun.state == RunState.DONE))
    return {"total_inventory": inventory, "total_sold": sold, "total_refunded": refunded,
            "revenue": as_json_number(revenue()), "countries_available": countries, "last_sync": iso(last)}


def dashboard_line(now: datetime) -> dict:
    """The console dashboard's proxy line: revenue in total and over 30 days, sales, stock."""
    sold, refunded = _sales()
    return {"revenue": revenue(), "revenue_30d": revenue(now - timedelta(days=30)),
            "sold": sold, "refunded": refunded, "on_sale": _stock()[0]}


def _stock() -> tuple[int, int]:
    """(proxies on sale, countries they are in)."""
    return tuple(db.session.execute(select(
        func.count(ProxyInventory.id), func.count(func.distinct(ProxyInventory.country_code))).where(*ON_SALE)).one())


def _sales() -> tuple[int, int]:
    """(orders sold, orders refunded)."""
    return tuple(db.session.execute(select(
        func.count(ProxyOrder.id).filter(ProxyOrder.state.in_(SOLD_STATES)),
        func.count(ProxyOrder.id).filter(ProxyOrder.state == ProxyOrderState.REFUNDED))).one())


def revenue(since: datetime | None = None):
    """Roubles kept from proxy sales: purchases net of every refund of them (from the ledger)."""
    proxy_rows = or_(Transaction.type.in_([TransactionType.PROXY_PURCHASE, TransactionType.PROXY_REFUND]),
                     (Transaction.type == TransactionType.REFUND) & Transaction.idempotency_key.like("proxy-order:%"))
    query = select(func.coalesce(-func.sum(Transaction.amount), 0)).where(
        proxy_rows, Transaction.status == TransactionStatus.CONFIRMED)
    if since is not None:
        query = query.where(Transaction.created_at >= since)
    return db.session.scalar(query)


def search_inventory(params: ListParams) -> Page:
    statement = select(ProxyInventory)
    if params.q:
        pattern = f"%{like_escape(params.q)}%"
        statement = statement.where(or_(ProxyInventory.ip.ilike(pattern, escape="\\"),
                                        ProxyInventory.city.ilike(pattern, escape="\\"),
                                        ProxyInventory.isp.ilike(pattern, escape="\\")))
    country, kind, sale = (params.filters.get(name) for name in INVENTORY_FILTERS)
    if country:
        statement = statement.where(func.upper(ProxyInventory.country_code) == country.upper())
    if kind in KINDS:
        statement = statement.where(*KINDS[kind])
    if sale == "on":
        statement = statement.where(*ON_SALE)
    elif sale == "off":
        statement = statement.where(ProxyInventory.on_sale.is_(False), ProxyInventory.sold.is_(False))
    elif sale == "sold":
        statement = statement.where(ProxyInventory.sold.is_(True))
    return paginate(statement, params, INVENTORY_SORTS)


def search_orders(params: ListParams) -> Page:
    statement = select(ProxyOrder, User.mail).join(User, User.id == ProxyOrder.user_id)
    if params.q:
        pattern = f"%{like_escape(params.q)}%"
        statement = statement.where(or_(User.mail.ilike(pattern, escape="\\"),
                                        ProxyOrder.server_ip.ilike(pattern, escape="\\")))
    if params.filters.get("state"):
        statement = statement.where(ProxyOrder.state == params.filters["state"])
    return paginate(statement, params, ORDER_SORTS, scalars=False)


def country_codes() -> list[str]:
    return list(db.session.scalars(select(ProxyInventory.country_code).where(ProxyInventory.country_code.is_not(None))
                                   .distinct().order_by(ProxyInventory.country_code)))


def recent_runs(limit: int = 10) -> list[ProxySyncRun]:
    return list(db.session.scalars(select(ProxySyncRun).order_by(ProxySyncRun.id.desc()).limit(limit)))


def counts_by_state() -> dict:
    rows = db.session.execute(select(ProxyOrder.state, func.count(ProxyOrder.id)).group_by(ProxyOrder.state)).all()
    return {state: count for state, count in rows}


def resolve_flagged(order_id: int, outcome: str, actor) -> ProxyOrder:
    """Staff settle a flagged order: `refund` gives the customer their money back, `keep` makes it active."""
    order = db.session.scalar(select(ProxyOrder).where(ProxyOrder.id == order_id).with_for_update())
    if order is None:
        raise LookupError(order_id)
    if order.state != ProxyOrderState.FLAGGED:
        raise ProxyAdminError(f"order {order_id} is {order.state}, not flagged")
    before = {"state": order.state, "error": order.error}
    already_back = db.session.scalar(select(func.count(Transaction.id)).where(
        Transaction.idempotency_key.in_([f"proxy-order:{order.id}:not-bought", f"proxy-order:{order.id}:refund"])))
    if outcome == "refund":
        if not already_back:
            credit = ledger.move_money(order.user_id, order.price_rub, TransactionType.PROXY_REFUND,
                                       f"proxy order {order.id}: refunded by staff", staff_id=actor.id,
                                       idempotency_key=f"proxy-order:{order.id}:refund")
            order.refund_transaction_id = credit.id if credit is not None else None
            order.refund_amount = order.price_rub
        order.state, order.refunded_at = ProxyOrderState.REFUNDED, datetime.now(timezone.utc)
    elif outcome == "keep":
        if already_back:
            raise ProxyAdminError("the customer's money is already back; this order can only be refunded")
        if not order.upstream_credentials_id:
            raise ProxyAdminError("the order has no credentials from the upstream; it can only be refunded")
        order.state = ProxyOrderState.ACTIVE
    else:
        raise ProxyAdminError("unknown outcome")
    order.error = f"resolved by staff: {outcome}"
    audit.record(actor, f"proxies.order_{outcome}", "proxy_order", order.id, before=before,
                 after={"state": order.state})
    return order

