"""Buying a proxy: reserve and pay in ONE transaction, then buy upstream, then settle either way.

1. One transaction: debit the balance (`move_money`: conditional UPDATE + `proxy_purchase`
   row, which also serialises one customer's purchases on their row), reserve the inventory
   row (`FOR UPDATE SKIP LOCKED`: a racing buyer skips it and is refused before paying), and
   record the order as `pending`.
2. Buy upstream, outside any transaction.
3. One transaction either way: the credentials make the order `active`; a refusal gives the
   money back (a `refund` row with a key, so at most once) and puts the proxy back on sale or
   takes it off, as the answer says:
   - 403 (our balance at the upstream): back on sale, the proxy is fine;
   - 404 (gone): off sale;
   - 503 (the proxy's server failed): off sale until a sync lists it online again;
   - no usable answer after the request went out (a 5xx, a timeout, a reset): the bought list
     decides before the customer hears back (outcome.py): listed, the order is active; not
     listed, the money is back. Only if the list cannot be read either does the customer get
     the order `pending` (202), which the sweep settles.
A process that dies between 1 and 3 leaves a `pending` order that the sweep settles from the
upstream's bought list, so money is never kept without a proxy nor a proxy given without money.
A repeat of an Idempotency-Key whose purchase is in flight waits (bounded) for its outcome.
"""
import logging
import time

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from oxnack_admin.clients.socks_upstream import (ProxyGone, ProxyServerFailed, UnreadablePurchase,
                                                 UpstreamBalanceTooLow, UpstreamError, UpstreamUnavailable)
from oxnack_admin.extensions import db
from oxnack_admin.models import ProxyInventory, ProxyOrder, User
from oxnack_admin.models.enums import ProxyOrderState, TransactionType
from oxnack_admin.services.money import ledger
from oxnack_admin.services.support import alerts
from . import upstream
from .outcome import BACK_ON_SALE, GONE, OFF_SALE, activate, fail, settle_order

log = logging.getLogger(__name__)
MAX_KEY_LENGTH = 200
REPEAT_POLL_SECONDS = 0.1  # how often a repeated key looks whether the purchase in flight has settled


class PurchaseError(Exception):
    """A purchase refused; `status` and `message` are the customer's answer."""

    status = 400

    def __init__(self, message: str, order: ProxyOrder | None = None):
        super().__init__(message)
        self.message, self.order = message, order


class UnknownProduct(PurchaseError):
    status = 404


class NotOnSale(PurchaseError):
    status = 409


class SmallBalance(PurchaseError):
    status = 402


class AccountBlocked(PurchaseError):
    status = 403


class UpstreamFailed(PurchaseError):
    """The upstream refused or failed; the money is back."""

    status = 502


def purchase(user_id: int, product_id: int, idempotency_key: str | None = None, *, notify: bool = True) -> ProxyOrder:
    """Sell inventory row `product_id` to the customer; returns the order (active, or pending while the
    upstream's outcome cannot be read) or raises PurchaseError.

    With an `idempotency_key` used before by this customer, nothing is charged: that order's
    outcome is answered again, once a purchase in flight has settled. `notify=False`: the caller
    shows the credentials itself (the bot), so no "proxy bought" notice is queued for an order
    settled now (one settled later by the sweep still gets it).
    """
    if idempotency_key is not None:
        existing = order_by_key(user_id, idempotency_key)
        if existing is not None:
            return repeat(existing)
    user = db.session.get(User, user_id)
    if user is None or user.is_blocked:
        raise AccountBlocked("account blocked")
    product = db.session.get(ProxyInventory, product_id)
    if product is None:
        raise UnknownProduct("product not found")
    if not product.on_sale or product.sold:
        # A repeat of a key whose first request sold this proxy a moment ago gets that order.
        existing = order_by_key(user_id, idempotency_key) if idempotency_key is not None else None
        if existing is not None:
            return repeat(existing)
        raise NotOnSale("proxy is no longer on sale")
    try:
        client = upstream.client()
    except upstream.ResaleOff as exc:
        raise UpstreamFailed(exc.message) from None
    db.session.rollback()  # end the read transaction: the reservation starts fresh
    order, created = reserve(user_id, product_id, idempotency_key)
    if not created:  # a concurrent repeat of the same key won: never buy twice
        return repeat(order)
    return buy_reserved(order.id, client, notify=notify)


def reserve(user_id: int, product_id: int, idempotency_key: str | None) -> tuple[ProxyOrder, bool]:
    """Step 1 in one transaction: pay, reserve the proxy, record a pending order; commits.

    Returns (order, True), or (the order of an earlier use of the same key, False).
    """
    price_usd, price_rub = upstream.price_usd(), upstream.price_rub()
    ledger_key = f"proxy-purchase:{user_id}:{idempotency_key}" if idempotency_key is not None else None
    try:
        debit = ledger.move_money(user_id, -price_rub, TransactionType.PROXY_PURCHASE, f"proxy {product_id}",
                                  idempotency_key=ledger_key)
        if debit is None:  # the same key is being (or was) used: that purchase is the answer
            db.session.rollback()
            return _existing(user_id, idempotency_key), False
        row = db.session.scalar(select(ProxyInventory).where(
            ProxyInventory.id == product_id, ProxyInventory.on_sale.is_(True), ProxyInventory.sold.is_(False))
            .with_for_update(skip_locked=True))
        if row is None:
            raise NotOnSale("proxy is no longer on sale")
        row.sold, row.on_sale, row.off_sale_reason = True, False, "sold"
        order = ProxyOrder(user_id=user_id, inventory_id=row.id, upstream_proxy_id=row.upstream_id,
                           state=ProxyOrderState.PENDING, price_usd=price_usd, price_rub=price_rub,
                           idempotency_key=idempotency_key, purchase_transaction_id=debit.id)
        db.session.add(order)
        db.session.flush()
        debit.discription = f"proxy order {order.id}: {row.country_code or '?'} proxy {row.upstream_id}"
        db.session.commit()
    except ledger.InsufficientFunds:
        db.session.rollback()
        raise SmallBalance("small balance") from None
    except IntegrityError:
        db.session.rollback()
        return _existing(user_id, idempotency_key), False
    except BaseException:
        db.session.rollback()
        raise
    log.info("proxy order %s reserved proxy %s for user %s", order.id, order.upstream_proxy_id, user_id)
    return order, True


def buy_reserved(order_id: int, client, *, notify: bool = True) -> ProxyOrder:
    """Steps 2 and 3: buy upstream and settle the order by the answer; raises UpstreamFailed if not bought."""
    order = db.session.get(ProxyOrder, order_id)
    proxy_id = order.upstream_proxy_id
    db.session.rollback()  # hold no transaction (and no connection) while the upstream answers
    try:
        bought = client.buy(proxy_id)
    except UpstreamBalanceTooLow:
        log.error("proxy upstream refused a buy: our balance there is too low")
        alerts.alert("upstream_balance", f"A buy (order {order_id}) was refused: top up our balance at the upstream",
                     ("console.proxies", {}))
        return answer(fail(order_id, "the upstream could not sell it right now", BACK_ON_SALE))
    except ProxyGone:
        return answer(fail(order_id, "the proxy is gone at the upstream", GONE))
    except ProxyServerFailed:
        return answer(fail(order_id, "the proxy's server failed", OFF_SALE))
    except (UpstreamUnavailable, UnreadablePurchase) as exc:
        if isinstance(exc, UpstreamUnavailable) and not exc.sent:
            return answer(fail(order_id, "the upstream is unavailable", BACK_ON_SALE))
        log.warning("proxy order %s: the buy's answer was lost (%s); the bought list decides", order_id, exc.message)
        return answer(settle_order(order_id, client, notify=notify))
    except UpstreamError as exc:
        log.error("proxy upstream refused a buy: %s", exc.message)
        return answer(fail(order_id, "the upstream refused the purchase", BACK_ON_SALE))
    return answer(activate(order_id, bought, notify=notify))


def order_by_key(user_id: int, key: str) -> ProxyOrder | None:
    return db.session.scalar(select(ProxyOrder).where(ProxyOrder.user_id == user_id, ProxyOrder.idempotency_key == key))


def answer(order: ProxyOrder) -> ProxyOrder:
    """What this order's purchase answers: the order (active, pending or flagged), or its refusal if the money is back."""
    if order.state == ProxyOrderState.FAILED:
        raise UpstreamFailed(failure_message(order), order)
    return order


def repeat(order: ProxyOrder) -> ProxyOrder:
    """A repeated key's answer: its order once the purchase in flight settles, waiting at most SOCKS_API_TIMEOUT."""
    order_id, deadline = order.id, time.monotonic() + float(current_app.config["SOCKS_API_TIMEOUT"])
    while order.state == ProxyOrderState.PENDING and time.monotonic() < deadline:
        db.session.rollback()  # hold no connection while waiting; each look sees the latest commit
        time.sleep(REPEAT_POLL_SECONDS)
        order = db.session.get(ProxyOrder, order_id, populate_existing=True)
    return answer(order)


def failure_message(order: ProxyOrder) -> str:
    return f"proxy purchase failed: {order.error or 'the upstream refused'}; the money is back"


def _existing(user_id: int, key: str | None) -> ProxyOrder:
    # A concurrent request with the same key committed first; its order is the answer. (Its debit
    # row may exist without an order only if that request was refused, e.g. not on sale.)
    order = order_by_key(user_id, key) if key is not None else None
    if order is None:
        raise NotOnSale("proxy is no longer on sale")
    return order
