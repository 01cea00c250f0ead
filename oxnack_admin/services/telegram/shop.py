"""Buying in the bot: a server order (price shown before Confirm), proxies (top-ups are in topup.py).

The same services as /create_machine and /api/external-proxy/*. A server order's
Confirm button carries a one-time nonce holding the order, so a double press places it once; a
proxy's Confirm carries a nonce used as the purchase's idempotency key, so it is charged once.
"""
import json

from flask import current_app

from oxnack_admin.extensions import db
from oxnack_admin.models import ProxyInventory
from oxnack_admin.services.money import ledger, pricing, promocodes
from oxnack_admin.services.orders import catalogue, placement
from oxnack_admin.services.proxies import catalogue as proxy_catalogue, purchase, refund, upstream
from oxnack_admin.services.telegram import dialog
from oxnack_admin.services.telegram.context import Ctx
from oxnack_admin.services.telegram.customer import money
from oxnack_admin.services.telegram.texts import Raw, button

SHAPE_STEPS = (("c", "cores", "order_cores"), ("r", "ram", "order_ram"), ("d", "hdd", "order_hdd"))
PROXIES_SHOWN = 5


def choices(low: int, high: int) -> list[int]:
    """A handful of values within the limits: the minimum, doublings, the maximum."""
    values, value = [low], max(low, 1)
    while value * 2 < high and len(values) < 5:
        value *= 2
        values.append(value)
    return sorted(set(values + [high]))


# --- a server order ------------------------------------------------------------------------------

def order_start(ctx: Ctx) -> None:
    systems = catalogue.operating_systems()
    dialog.start(ctx.chat_id, "order")
    ctx.reply(ctx.say("order_os"), [[{"text": name, "callback_data": f"o:os:{index}"}]
                                    for index, name in enumerate(systems[:20])] + [[ctx.button("cancel", "x")]])


def order_press(ctx: Ctx, rest: str) -> None:
    what, _, value = rest.partition(":")
    if what == "ok":
        return _order_confirm(ctx, value)
    state = dialog.get(ctx.chat_id)
    if state.get("step") not in ("order", "order_promo"):
        return _stale(ctx, "this order form has expired; start again with /order")
    limits = pricing.limits()
    if what == "os":
        systems = catalogue.operating_systems()
        if not value.isdigit() or int(value) >= len(systems):
            return _stale(ctx, "this system is no longer offered; /order")
        dialog.put(ctx.chat_id, os=systems[int(value)])
        return _ask_shape(ctx, 0, limits)
    if what == "np":
        return _order_summary(ctx, None)
    for index, (code, field, _) in enumerate(SHAPE_STEPS):
        if what == code and value.isdigit() and limits[field][0] <= int(value) <= limits[field][1]:
            dialog.put(ctx.chat_id, **{field: int(value)})
            if index + 1 < len(SHAPE_STEPS):
                return _ask_shape(ctx, index + 1, limits)
            dialog.put(ctx.chat_id, step="order_promo")
            ctx.answer()
            return ctx.reply(ctx.say("order_promo"), [[ctx.button("no_promo", "o:np"), ctx.button("cancel", "x")]])
    _stale(ctx, "unknown choice")


def order_promo(ctx: Ctx, text: str) -> None:
    _order_summary(ctx, text.strip()[:64] or None)


def _ask_shape(ctx: Ctx, index: int, limits: dict) -> None:
    code, field, key = SHAPE_STEPS[index]
    ctx.answer()
    ctx.reply(ctx.say(key), [[{"text": str(n), "callback_data": f"o:{code}:{n}"} for n in choices(*limits[field])],
                             [ctx.button("cancel", "x")]])


def _order_summary(ctx: Ctx, promo: str | None) -> None:
    state = dialog.get(ctx.chat_id)
    if not all(state.get(field) for field in ("os", "cores", "ram", "hdd")):
        return _stale(ctx, "this order form has expired; start again with /order")
    shape = pricing.Shape(int(state["cores"]), int(state["ram"]), int(state["hdd"]))
    discount = promocodes.discount_for(promo)
    quote = pricing.quote(shape, discount)
    order = {"os": state["os"], "cores": shape.cores, "ram": shape.ram, "hdd": shape.hdd, "promo": promo}
    nonce = dialog.issue_nonce(ctx.chat_id, "order", json.dumps(order))
    dialog.end(ctx.chat_id)
    promo_text = f", promo {promo} (−{discount}%)" if discount else ""
    ctx.answer()
    ctx.reply(ctx.say("order_summary", os=state["os"], cores=shape.cores, ram=shape.ram, hdd=shape.hdd,
                      promo=promo_text, price=money(quote.price), days=current_app.config["RENTAL_DAYS"]),
              [[ctx.button("confirm", f"o:ok:{nonce}"), ctx.button("cancel", "x")]])


def _order_confirm(ctx: Ctx, nonce: str) -> None:
    stored = dialog.consume_nonce(ctx.chat_id, "order", nonce)
    if stored is None:
        return _stale(ctx, "this order was already placed or cancelled")
    order = json.loads(stored)
    try:
        placed = placement.place_order(ctx.user, placement.Order(
            pricing.Shape(order["cores"], order["ram"], order["hdd"]), order["os"], order.get("promo")))
    except ledger.InsufficientFunds:
        return _said(ctx, ctx.say("small_balance"))
    except placement.PoolEmpty:
        return _said(ctx, ctx.say("refused", reason="no free server of this system right now"))
    except placement.OrderError as refused:
        return _said(ctx, ctx.say("refused", reason=type(refused).__name__))
    _said(ctx, ctx.say("order_placed", id=placed.server.id))


# --- proxies ---------------------------------------------------------------------------------------

def proxies_start(ctx: Ctx, country: str = "") -> None:
    country = country.strip().upper()[:2] if country.strip().isalpha() else ""
    ctx.answer()
    ctx.reply(ctx.say("proxies_kind", price=money(upstream.price_rub())),
              [[{"text": kind, "callback_data": f"p:k:{kind}:{country}"} for kind in proxy_catalogue.TYPES],
               [ctx.button("all", f"p:k::{country}"), ctx.button("my_proxies", "p:my")]])


def proxies_press(ctx: Ctx, rest: str) -> None:
    what, _, value = rest.partition(":")
    if what == "k":
        kind, _, country = value.partition(":")
        return _list(ctx, kind or None, country or None)
    if what == "b" and value.isdigit():
        return _confirm_buy(ctx, int(value))
    if what == "ok":
        product_id, _, nonce = value.partition(":")
        return _buy(ctx, int(product_id), nonce) if product_id.isdigit() and nonce else _stale(ctx, "unknown")
    if what == "my":
        return my_proxies(ctx)
    if what == "rf" and value.isdigit():
        return _refund(ctx, int(value))
    _stale(ctx, "unknown button")


def _list(ctx: Ctx, kind: str | None, country: str | None) -> None:
    page = proxy_catalogue.on_sale(country_code=country, kind=kind, page_size=PROXIES_SHOWN)
    ctx.answer()
    if not page["proxies"]:
        return ctx.reply(ctx.say("proxies_none"))
    lines = [ctx.say("proxy_line", id=p["product_id"], country=p["country"] or p["country_code"] or "",
                     city=p["city"] or "", kind=p["type"], isp=p["ISP"] or "") for p in page["proxies"]]
    ctx.reply("\n".join(lines), [[ctx.button("buy", f"p:b:{p['product_id']}", f"{button(ctx.lang, 'buy')} №{p['product_id']}")]
                                 for p in page["proxies"]])


def _confirm_buy(ctx: Ctx, product_id: int) -> None:
    product = db.session.get(ProxyInventory, product_id)
    if product is None or not product.on_sale or product.sold:
        return _stale(ctx, "this proxy is no longer on sale; /proxies")
    nonce = dialog.issue_nonce(ctx.chat_id, "proxy", str(product_id))
    ctx.answer()
    ctx.reply(ctx.say("proxy_confirm", id=product_id, country=product.country or product.country_code or "",
                      kind=product.kind, price=money(upstream.price_rub())),
              [[ctx.button("confirm", f"p:ok:{product_id}:{nonce}"), ctx.button("cancel", "x")]])


def _buy(ctx: Ctx, product_id: int, nonce: str) -> None:
    key = f"tg:{ctx.chat_id}:{nonce}"
    if purchase.order_by_key(ctx.user.id, key) is not None:
        db.session.rollback()
        return _stale(ctx, "already bought: see /myproxies")
    try:
        order = purchase.purchase(ctx.user.id, product_id, idempotency_key=key, notify=False)  # this answer is the notice
    except purchase.SmallBalance:
        return _said(ctx, ctx.say("small_balance"))
    except purchase.PurchaseError as refused:
        return _said(ctx, ctx.say("refused", reason=str(refused)))
    view = proxy_catalogue.order_view(order)
    if order.state not in proxy_catalogue.WITH_CREDENTIALS:
        return _said(ctx, ctx.say("proxy_pending"))
    credentials = view["credentials"]
    ctx.answer()
    ctx.reply(ctx.say("proxy_bought", id=order.id, ip=credentials["ip"], port=credentials["port"],
                      login=credentials["login"], password=credentials["password"], expires=view["expires_at"] or "—"),
              secret=True)


def my_proxies(ctx: Ctx) -> None:
    orders = proxy_catalogue.orders_of(ctx.user.id)
    ctx.answer()
    if not orders:
        return ctx.reply(ctx.say("no_proxies"))
    lines, rows = [], []
    for order in orders[:10]:
        view = proxy_catalogue.order_view(order)
        credentials = view["credentials"]
        lines.append(ctx.say("my_proxy", id=order.id, state=order.state, ip=credentials["ip"] or "—",
                             port=credentials["port"] or "", login=credentials["login"] or "—",
                             password=credentials["password"] or "—", expires=view["expires_at"] or "—"))
        if view["refundable"]:
            rows.append([ctx.button("refund", f"p:rf:{order.id}", f"{button(ctx.lang, 'refund')} №{order.id}")])
    ctx.reply(Raw("\n\n".join(lines)), rows or None, secret=True)


def _refund(ctx: Ctx, order_id: int) -> None:
    try:
        done = refund.refund(ctx.user.id, order_id)
    except refund.RefundError as refused:
        db.session.rollback()
        key = "stale" if refused.status in (404, 409) else "refused"
        return _said(ctx, ctx.say(key, reason=refused.message))
    _said(ctx, ctx.say("proxy_refunded", id=order_id, amount=money(done.amount)))


def _said(ctx: Ctx, text: str) -> None:
    ctx.answer(text)
    ctx.reply(text)


def _stale(ctx: Ctx, reason: str) -> None:
    _said(ctx, ctx.say("stale", reason=reason))
