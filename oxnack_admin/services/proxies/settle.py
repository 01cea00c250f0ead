"""Settling purchases whose upstream answer never came: the upstream's bought list decides.

A pending order whose proxy appears in the bought list (credentials no other order holds) is
completed with those credentials; one that does not is refunded. If the bought list cannot
be read, nothing changes and the next sweep tries again. Also ends sync runs and refunds
whose process died.
"""
import logging
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import select

from oxnack_admin.clients.errors import RemoteError
from oxnack_admin.clients.socks_upstream import Purchase, UpstreamError
from oxnack_admin.extensions import db
from oxnack_admin.models import ProxyOrder
from oxnack_admin.models.enums import ProxyOrderState
from . import purchase as purchases, upstream

log = logging.getLogger(__name__)


def settle_order(order_id: int, client, bought: list[dict] | None = None, *, refund_if_missing: bool = True) -> ProxyOrder:
    """Complete or refund one pending order from the bought list; leaves it pending if the list is unreadable.

    Right after a lost answer the upstream may still be finishing the buy, so the purchase
    path passes `refund_if_missing=False`: a missing entry then waits for the sweep.
    """
    order = db.session.get(ProxyOrder, order_id)
    if order.state != ProxyOrderState.PENDING:
        return order
    try:
        bought = client.all_bought() if bought is None else bought
    except RemoteError as exc:
        log.warning("proxy order %s stays pending: the bought list is unreadable (%s)", order_id, exc.message)
        db.session.rollback()
        return order
    match = _find(order, bought)
    if match is None:
        if not refund_if_missing:
            db.session.rollback()
            return order
        return purchases.fail(order_id, "the upstream did not confirm the purchase", purchases.OFF_SALE)
    try:
        found = Purchase.from_wire(match)
    except UpstreamError:
        return _flag(order_id, "the upstream lists the purchase without readable credentials")
    log.info("proxy order %s completed from the bought list", order_id)
    return purchases.activate(order_id, found)


def settle_pending_orders(older_than_minutes: float | None = None) -> dict:
    """The sweep's part: settle every pending order older than SOCKS_SETTLE_AFTER_MINUTES."""
    minutes = current_app.config["SOCKS_SETTLE_AFTER_MINUTES"] if older_than_minutes is None else older_than_minutes
    cutoff = datetime.now(timezone.utc) - timedelta(minutes=minutes)
    order_ids = list(db.session.scalars(select(ProxyOrder.id).where(
        ProxyOrder.state == ProxyOrderState.PENDING, ProxyOrder.created_at <= cutoff).order_by(ProxyOrder.id)))
    outcome = {"completed": 0, "refunded": 0, "pending": 0}
    if not order_ids:
        return outcome
    try:
        client = upstream.client()
        bought = client.all_bought()
    except RemoteError as exc:
        log.warning("%d pending proxy orders wait: %s", len(order_ids), exc.message)
        db.session.rollback()
        outcome["pending"] = len(order_ids)
        return outcome
    for order_id in order_ids:
        order = settle_order(order_id, client, bought)
        key = {ProxyOrderState.ACTIVE: "completed", ProxyOrderState.FAILED: "refunded"}.get(order.state, "pending")
        outcome[key] += 1
    return outcome


def flag_stuck_refunds(older_than_minutes: float | None = None) -> list[int]:
    """A refund claimed by a process that died before the upstream answered: staff decide."""
    minutes = current_app.config["SOCKS_SETTLE_AFTER_MINUTES"] if older_than_minutes is None else older_than_minutes
    cutoff = datetime.now(timezone.utc) - timedelta(minutes=minutes)
    stuck = list(db.session.scalars(select(ProxyOrder).where(
        ProxyOrder.state == ProxyOrderState.REFUNDING, ProxyOrder.updated_at <= cutoff).with_for_update(skip_locked=True)))
    for order in stuck:
        order.state, order.error = ProxyOrderState.FLAGGED, "refund outcome unknown (its process stopped)"
    db.session.commit()
    return [order.id for order in stuck]


def _find(order: ProxyOrder, bought: list[dict]) -> dict | None:
    """The bought entry of this order's proxy that no other order holds and that is not refunded."""
    held = set(db.session.scalars(select(ProxyOrder.upstream_credentials_id).where(
        ProxyOrder.upstream_proxy_id == order.upstream_proxy_id, ProxyOrder.upstream_credentials_id.is_not(None))))
    for entry in bought:
        if str(entry.get("proxy_id")) != str(order.upstream_proxy_id) or entry.get("refunded") is True:
            continue
        if str(entry.get("credentials_id")) not in held:
            return entry
    return None


def _flag(order_id: int, reason: str) -> ProxyOrder:
    order = purchases.locked_order(order_id)
    if order.state == ProxyOrderState.PENDING:
        order.state, order.error = ProxyOrderState.FLAGGED, reason
    db.session.commit()
    return order
