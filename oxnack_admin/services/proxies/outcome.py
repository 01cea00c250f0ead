"""How a pending proxy order ends: active with its credentials, failed with the money back, or flagged for staff.

Both the purchase (right after the upstream's answer, or its loss) and the sweep (an order
whose process died) settle orders here; when the buy's answer is lost, the upstream's bought
list decides.
"""
import logging
from datetime import datetime, timezone

from sqlalchemy import select

from oxnack_admin.clients.errors import RemoteError
from oxnack_admin.clients.socks_upstream import Purchase, UpstreamError
from oxnack_admin.extensions import db
from oxnack_admin.models import ProxyInventory, ProxyOrder, User
from oxnack_admin.models.enums import ProxyOrderState, TransactionType
from oxnack_admin.services import notices
from oxnack_admin.services.money import ledger
from oxnack_admin.services.support import alerts

log = logging.getLogger(__name__)

BACK_ON_SALE, OFF_SALE, GONE = "back on sale", "off sale", "gone"
UNCONFIRMED = "the upstream did not confirm the purchase"  # refunded because the bought list lacked it


def activate(order_id: int, bought: Purchase, *, notify: bool = True) -> ProxyOrder:
    """Give the pending order its credentials; commits. A settled order keeps its outcome and is flagged.

    `notify=False` when the caller shows the credentials to the customer itself (the bot's answer).
    """
    order = locked_order(order_id)
    order.upstream_credentials_id = bought.credentials_id
    order.proxy_ip, order.server_ip, order.server_port = bought.proxy_ip, bought.server_ip, bought.server_port
    order.login, order.password = bought.username, bought.password
    order.upstream_price, order.refundable, order.expires_at = bought.price, bought.refundable, bought.expires_at
    order.bought_at = datetime.now(timezone.utc)
    if order.state == ProxyOrderState.PENDING:
        order.state = ProxyOrderState.ACTIVE
        if notify:
            notices.notify(db.session.get(User, order.user_id), "proxy_bought", order_id=order.id,
                           expires=f"{order.expires_at:%d.%m.%Y %H:%M}" if order.expires_at else "—")
    else:  # refunded by the sweep meanwhile, yet bought: staff decide (refund upstream or resell)
        order.state, order.error = ProxyOrderState.FLAGGED, "bought at the upstream after the money went back"
        log.error("proxy order %s was bought after it was settled; flagged for staff", order_id)
    db.session.commit()
    return order


def fail(order_id: int, reason: str, inventory: str) -> ProxyOrder:
    """Give the money back once (a `refund` row) and put the proxy back or off sale; commits.

    A no-op on an order that is no longer pending: someone settled it first.
    """
    order = locked_order(order_id)
    if order.state != ProxyOrderState.PENDING:
        db.session.commit()
        return order
    credit = ledger.move_money(order.user_id, order.price_rub, TransactionType.REFUND,
                               f"proxy order {order.id}: not bought ({reason})",
                               idempotency_key=f"proxy-order:{order.id}:not-bought")
    order.state, order.error = ProxyOrderState.FAILED, reason
    order.refund_amount, order.refunded_at = order.price_rub, datetime.now(timezone.utc)
    order.refund_transaction_id = credit.id if credit is not None else None
    row = db.session.scalar(select(ProxyInventory).where(ProxyInventory.id == order.inventory_id).with_for_update())
    row.sold = False
    row.on_sale = inventory == BACK_ON_SALE and row.status == 1
    row.off_sale_reason = None if row.on_sale else reason
    db.session.commit()
    log.info("proxy order %s failed (%s); money back, proxy %s", order.id, reason, inventory)
    return order


def settle_order(order_id: int, client, bought: list[dict] | None = None, *, notify: bool = True) -> ProxyOrder:
    """Complete or refund one pending order from the bought list; leaves it pending if the list is unreadable."""
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
        return fail(order_id, UNCONFIRMED, OFF_SALE)
    try:
        found = Purchase.from_wire(match)
    except UpstreamError:
        return flag(order_id, "the upstream lists the purchase without readable credentials")
    log.info("proxy order %s completed from the bought list", order_id)
    return activate(order_id, found, notify=notify)


def claim_late_sale(order_id: int, bought: list[dict]) -> ProxyOrder:
    """An order refunded as unconfirmed whose proxy the bought list now shows: flagged for staff with the sale."""
    order = db.session.get(ProxyOrder, order_id)
    # A newer order of the same proxy still pending may be the owner of that sale: it settles first.
    newer_pending = db.session.scalar(select(ProxyOrder.id).where(
        ProxyOrder.upstream_proxy_id == order.upstream_proxy_id, ProxyOrder.state == ProxyOrderState.PENDING).limit(1))
    match = _find(order, bought) if order.state == ProxyOrderState.FAILED and newer_pending is None else None
    if match is None:
        db.session.rollback()
        return order
    try:
        found = Purchase.from_wire(match)
    except UpstreamError:
        db.session.rollback()
        return order
    return activate(order_id, found)  # not pending: flagged, the customer's money stays back


def flag(order_id: int, reason: str) -> ProxyOrder:
    """A pending order whose outcome nobody can tell: staff decide; commits."""
    order = locked_order(order_id)
    if order.state == ProxyOrderState.PENDING:
        order.state, order.error = ProxyOrderState.FLAGGED, reason
        alerts.alert("proxy_order_flagged", f"Proxy order {order.id}: {reason}", ("console.proxies_orders", {}))
    db.session.commit()
    return order


def locked_order(order_id: int) -> ProxyOrder:
    return db.session.scalar(select(ProxyOrder).where(ProxyOrder.id == order_id).with_for_update()
                             .execution_options(populate_existing=True))


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
