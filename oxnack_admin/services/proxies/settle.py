"""The sweep's part of proxy resale: settle purchases left pending, flag refunds whose process died.

A pending order whose proxy appears in the bought list (credentials no other order holds) is
completed with those credentials; one that does not is refunded (outcome.py). If the bought
list cannot be read, nothing changes and the next sweep tries again. An order refunded because
the list lacked it may still be sold by an upstream that was slow (a buy that timed out): for
SOCKS_REFUND_MINUTES such a late sale is looked for and flagged for staff, who can refund it
upstream or resell.
"""
import logging
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import select

from oxnack_admin.clients.errors import RemoteError
from oxnack_admin.extensions import db
from oxnack_admin.models import ProxyOrder
from oxnack_admin.models.enums import ProxyOrderState
from . import outcome, upstream

log = logging.getLogger(__name__)


def settle_pending_orders(older_than_minutes: float | None = None) -> dict:
    """The sweep's part: settle every pending order older than SOCKS_SETTLE_AFTER_MINUTES; flag late sales."""
    config, now = current_app.config, datetime.now(timezone.utc)
    minutes = config["SOCKS_SETTLE_AFTER_MINUTES"] if older_than_minutes is None else older_than_minutes
    order_ids = list(db.session.scalars(select(ProxyOrder.id).where(
        ProxyOrder.state == ProxyOrderState.PENDING, ProxyOrder.created_at <= now - timedelta(minutes=minutes))
        .order_by(ProxyOrder.id)))
    unconfirmed_ids = list(db.session.scalars(select(ProxyOrder.id).where(
        ProxyOrder.state == ProxyOrderState.FAILED, ProxyOrder.error == outcome.UNCONFIRMED,
        ProxyOrder.created_at >= now - timedelta(minutes=config["SOCKS_REFUND_MINUTES"])).order_by(ProxyOrder.id)))
    counts = {"completed": 0, "refunded": 0, "pending": 0, "flagged": 0}
    if not order_ids and not unconfirmed_ids:
        db.session.rollback()
        return counts
    try:
        client = upstream.client()
        bought = client.all_bought()
    except RemoteError as exc:
        log.warning("%d pending proxy orders wait: %s", len(order_ids), exc.message)
        db.session.rollback()
        counts["pending"] = len(order_ids)
        return counts
    for order_id in order_ids:
        order = outcome.settle_order(order_id, client, bought)
        key = {ProxyOrderState.ACTIVE: "completed", ProxyOrderState.FAILED: "refunded"}.get(order.state, "pending")
        counts[key] += 1
    for order_id in unconfirmed_ids:
        counts["flagged"] += outcome.claim_late_sale(order_id, bought).state == ProxyOrderState.FLAGGED
    return counts


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
