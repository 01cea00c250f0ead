"""What customers see: the proxies on sale now, and their own orders with credentials."""
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from oxnack_admin.extensions import db
from oxnack_admin.models import ProxyInventory, ProxyOrder
from oxnack_admin.models.enums import ProxyOrderState
from oxnack_admin.services.money.ledger import as_json_number
from . import upstream
from .refund import within_window
from .sync import iso

MAX_PAGE_SIZE = 100
ON_SALE = (ProxyInventory.on_sale.is_(True), ProxyInventory.sold.is_(False))
# The customer-facing type as SQL conditions (ProxyInventory.kind in Python).
KINDS = {"residential": (ProxyInventory.mobile.is_(False), ProxyInventory.hosting.is_(False)),
         "mobile": (ProxyInventory.mobile.is_(True),),
         "hosting": (ProxyInventory.hosting.is_(True), ProxyInventory.mobile.is_(False))}
TYPES = tuple(KINDS)
# The proxy is the customer's only in these states; once the money is back (or staff must
# decide, or it is not bought yet) the credentials are not shown.
WITH_CREDENTIALS = (ProxyOrderState.ACTIVE, ProxyOrderState.REFUNDING)
NO_CREDENTIALS = {"ip": None, "port": None, "login": None, "password": None}
PENDING_MESSAGE = ("the upstream has not confirmed the purchase yet; the order settles within minutes "
                   "(see /api/external-proxy/orders): the proxy, or the money back")


def on_sale(country_code: str | None = None, city: str | None = None, kind: str | None = None, page: int = 0,
            page_size: int = 50) -> dict:
    """One page of the proxies on sale now, filtered; page_size is capped at MAX_PAGE_SIZE."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    query = select(ProxyInventory).where(*ON_SALE)
    if country_code:
        query = query.where(func.upper(ProxyInventory.country_code) == country_code.strip().upper())
    if city:
        query = query.where(func.lower(ProxyInventory.city) == city.strip().lower())
    if kind in KINDS:
        query = query.where(*KINDS[kind])
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(ProxyInventory.id).limit(page_size).offset(page * page_size))
    price, price_rub = as_json_number(upstream.price_usd()), as_json_number(upstream.price_rub())
    return {"proxies": [{"product_id": row.id, "proxy_id": row.upstream_id, "country": row.country,
                         "country_code": row.country_code, "city": row.city, "ISP": row.isp, "type": row.kind,
                         "price": price, "price_rub": price_rub, "status": row.status}
                        for row in rows],
            "total": total, "page": page, "page_size": page_size}


def order_view(order: ProxyOrder, now: datetime | None = None) -> dict:
    """The purchase answer, and one entry of the orders list (credentials for their owner, while the proxy is theirs)."""
    proxy = order.proxy
    secrets = {"ip": order.server_ip, "port": order.server_port, "login": order.login, "password": order.password}
    return {
        "order_id": order.id, "proxy_id": order.upstream_proxy_id, "product_id": order.inventory_id,
        "credentials": {**(secrets if order.state in WITH_CREDENTIALS else NO_CREDENTIALS),
                        "country": proxy.country if proxy else None, "ISP": proxy.isp if proxy else None},
        "price": as_json_number(order.price_usd), "price_rub": as_json_number(order.price_rub),
        "expires_at": iso(order.expires_at), "refundable": refundable_now(order, now),
        "state": order.state, "purchased_at": iso(order.created_at),
        "refunded_at": iso(order.refunded_at) if order.state == ProxyOrderState.REFUNDED else None,
        "refund_amount": as_json_number(order.refund_amount) if order.state == ProxyOrderState.REFUNDED else None,
    }


def purchase_answer(order: ProxyOrder) -> tuple[dict, int]:
    """(body, status) of a purchase: 200 with the order, or 202 `pending` while its outcome is unknown."""
    if order.state in (ProxyOrderState.PENDING, ProxyOrderState.FLAGGED):
        return {"status": "pending", "message": PENDING_MESSAGE, **order_view(order)}, 202
    return order_view(order), 200


def refundable_now(order: ProxyOrder, now: datetime | None = None) -> bool:
    """Whether a refund could be asked for now (the upstream still has to say the proxy is offline)."""
    return order.state == ProxyOrderState.ACTIVE and order.refundable is not False and within_window(order, now)


def orders_of(user_id: int) -> list[ProxyOrder]:
    """The customer's orders that reached the upstream or are on their way, newest first."""
    return list(db.session.scalars(select(ProxyOrder).where(ProxyOrder.user_id == user_id)
                                   .options(joinedload(ProxyOrder.proxy))  # one query, not one per order
                                   .order_by(ProxyOrder.id.desc()).limit(500)))
