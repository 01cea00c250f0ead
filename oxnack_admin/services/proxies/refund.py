"""A customer's refund of an offline proxy: buyer only, inside the window, once, the upstream refunded once.

The upstream is asked first (lookup, then check-refundable), holding nothing. Then the order
row is locked and moved to `refunding` in a short transaction: of concurrent requests exactly
one gets past it, the others answer 409. Only that one calls the upstream refund; its answer
credits the balance (`proxy_refund` row with a key) or puts the order back to `active`. An
answer that never came leaves the order `flagged` for staff: the upstream may have refunded.
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import select

from oxnack_admin.clients.socks_upstream import NotRefundable, ProxyGone, UpstreamError, UpstreamUnavailable
from oxnack_admin.extensions import db
from oxnack_admin.models import ProxyInventory, ProxyOrder, User
from oxnack_admin.models.enums import ProxyOrderState, TransactionType
from oxnack_admin.services import notices
from oxnack_admin.services.money import ledger
from oxnack_admin.services.support import alerts
from . import upstream
from .outcome import locked_order as _locked

log = logging.getLogger(__name__)


class RefundError(Exception):
    """A refund refused; `status` and `message` are the customer's answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Refunded:
    order: ProxyOrder
    amount: object  # Decimal, roubles credited


def refund(user_id: int, order_id: int) -> Refunded:
    """Refund the customer's order if every rule allows it; raises RefundError with the reason otherwise."""
    order = db.session.scalar(select(ProxyOrder).where(ProxyOrder.id == order_id, ProxyOrder.user_id == user_id))
    if order is None:
        raise RefundError(404, "order not found")
    check_refundable_here(order)
    credentials_id, proxy_id = order.upstream_credentials_id, order.upstream_proxy_id
    db.session.rollback()
    try:
        client = upstream.client()
    except upstream.ResaleOff as exc:
        raise RefundError(502, exc.message) from None
    try:
        _check_offline_upstream(client, proxy_id, credentials_id)
    except RefundError:
        # A concurrent request may have refunded it meanwhile: then that is the answer (409).
        check_refundable_here(db.session.get(ProxyOrder, order_id, populate_existing=True))
        raise
    _claim(order_id)
    try:
        client.refund(credentials_id)
    except NotRefundable as exc:
        _release(order_id)
        raise RefundError(422, f"the upstream refuses the refund: {_reason(exc)}") from None
    except UpstreamUnavailable as exc:
        if exc.sent:  # it may have refunded: never guess with money
            _flag(order_id, "refund outcome unknown: the upstream did not answer")
            raise RefundError(502, "the proxy upstream did not answer; staff will check this refund") from None
        _release(order_id)
        raise RefundError(502, "the proxy upstream is unavailable; try again later") from None
    except UpstreamError as exc:
        _release(order_id)
        log.error("proxy upstream refused refund of order %s: %s", order_id, exc.message)
        raise RefundError(502, "the proxy upstream refused the refund; try again later") from None
    return credit_refund(order_id)


def check_refundable_here(order: ProxyOrder, now: datetime | None = None) -> None:
    """Our own rules, in the order a customer would want to hear them."""
    if order.state in (ProxyOrderState.REFUNDED, ProxyOrderState.FAILED):
        raise RefundError(409, "already refunded")
    if order.state == ProxyOrderState.REFUNDING:
        raise RefundError(409, "a refund of this order is in progress")
    if order.state != ProxyOrderState.ACTIVE:
        raise RefundError(422, "this order cannot be refunded now: its purchase is not complete")
    if not within_window(order, now):
        raise RefundError(422, f"too late: a refund is possible within {current_app.config['SOCKS_REFUND_MINUTES']} "
                               "minutes of the purchase")
    if order.refundable is False:
        raise RefundError(422, "the upstream sold this proxy as not refundable")


def within_window(order: ProxyOrder, now: datetime | None = None) -> bool:
    now = now or datetime.now(timezone.utc)
    return now <= order.created_at + timedelta(minutes=current_app.config["SOCKS_REFUND_MINUTES"])


def credit_refund(order_id: int) -> Refunded:
    """Credit the claimed refund once and close the order; commits."""
    order = _locked(order_id)
    amount = order.price_rub
    credit = ledger.move_money(order.user_id, amount, TransactionType.PROXY_REFUND,
                               f"proxy order {order.id}: refunded (proxy offline)",
                               idempotency_key=f"proxy-order:{order.id}:refund")
    order.state, order.refunded_at, order.refund_amount = ProxyOrderState.REFUNDED, datetime.now(timezone.utc), amount
    order.refund_transaction_id = credit.id if credit is not None else order.refund_transaction_id
    row = db.session.get(ProxyInventory, order.inventory_id)
    row.sold, row.on_sale, row.off_sale_reason = False, False, "refunded while offline"
    notices.notify(db.session.get(User, order.user_id), "proxy_refunded", order_id=order.id,
                   amount=ledger.as_json_number(amount))
    db.session.commit()
    log.info("proxy order %s refunded", order_id)
    return Refunded(order, amount)


def _check_offline_upstream(client, proxy_id: int, credentials_id: str) -> None:
    try:
        try:
            offline = str(client.lookup(proxy_id).get("status")) != "1"
        except ProxyGone:
            offline = True
        if not offline:
            raise RefundError(422, "the proxy is still online")
        refundable, message = client.check_refundable(credentials_id)
    except UpstreamUnavailable:
        raise RefundError(502, "the proxy upstream is unavailable; try again later") from None
    except UpstreamError as exc:
        log.error("proxy upstream refused a refund check: %s", exc.message)
        raise RefundError(502, "the proxy upstream refused the refund check; try again later") from None
    if not refundable:
        raise RefundError(422, f"the upstream refuses the refund: {message or 'not refundable'}")


def _claim(order_id: int) -> None:
    order = _locked(order_id)
    try:
        check_refundable_here(order)  # again, under the lock: a concurrent request may have won
    except RefundError:
        db.session.rollback()
        raise
    order.state = ProxyOrderState.REFUNDING
    db.session.commit()


def _release(order_id: int) -> None:
    order = _locked(order_id)
    if order.state == ProxyOrderState.REFUNDING:
        order.state = ProxyOrderState.ACTIVE
    db.session.commit()


def _flag(order_id: int, reason: str) -> None:
    order = _locked(order_id)
    order.state, order.error = ProxyOrderState.FLAGGED, reason
    alerts.alert("proxy_order_flagged", f"Proxy order {order.id}: {reason}", ("console.proxies_orders", {}))
    db.session.commit()


def _reason(exc: UpstreamError) -> str:
    return exc.message.split(": HTTP 400", 1)[-1].strip() or "not refundable"

