"""Top-ups in the bot: a Platega link (the service of /create_invoice), or USDT / BNB on BNB Smart Chain
(the service of /create_crypto_invoice) when crypto is on, with the invoice's state on a Refresh button.

callback_data: `t:ask`, `t:<amount>` (Platega), `t:<ASSET>` (ask the amount), `t:<ASSET>:<amount>`, `t:r:<invoice id>`.
"""
from flask import current_app, url_for

from oxnack_admin.services.crypto import invoices as crypto_invoices
from oxnack_admin.services.crypto.node import CryptoUnavailable
from oxnack_admin.services.payments import invoices
from oxnack_admin.services.telegram import dialog
from oxnack_admin.services.telegram.context import Ctx
from oxnack_admin.services.telegram.customer import money


def crypto_on() -> bool:
    return bool(current_app.config.get("CRYPTO_RPC_URL"))


def start(ctx: Ctx, asset: str | None = None) -> None:
    """Ask the amount: buttons or a typed number; without an asset also offer USDT and BNB when crypto is on."""
    config = current_app.config
    dialog.start(ctx.chat_id, "topup", **({"asset": asset} if asset else {}))
    prefix = f"t:{asset}:" if asset else "t:"
    rows = [[{"text": f"{amount} ₽", "callback_data": f"{prefix}{amount}"} for amount in config["TELEGRAM_TOPUP_AMOUNTS"]]]
    if asset is None and crypto_on():
        rows.append([{"text": f"{name} (BEP-20)" if name == "USDT" else name, "callback_data": f"t:{name}"}
                     for name in crypto_invoices.ASSETS])
    rows.append([ctx.button("cancel", "x")])
    ctx.answer()
    key = "topup_ask_crypto" if asset else "topup_ask"
    ctx.reply(ctx.say(key, min=config["TOPUP_MIN"], max=config["TOPUP_MAX"], asset=asset or ""), rows)


def press(ctx: Ctx, value: str) -> None:
    head, _, rest = value.partition(":")
    if head == "ask":
        return start(ctx)
    if head == "r":
        return refresh(ctx, rest)
    if head in crypto_invoices.ASSETS:
        if not crypto_on():
            return _said(ctx, ctx.say("crypto_down"))
        return _open_crypto(ctx, head, rest) if rest else start(ctx, head)
    _open_platega(ctx, value)


def typed_amount(ctx: Ctx, state: dict, text: str) -> None:
    asset = state.get("asset")
    if asset in crypto_invoices.ASSETS:
        return _open_crypto(ctx, asset, text.strip())
    _open_platega(ctx, text.strip())


def _amount(value: str) -> int:
    return invoices.whole_roubles(int(value) if value.isdigit() else None)


def _open_platega(ctx: Ctx, value: str) -> None:
    config = current_app.config
    try:
        amount = _amount(value)
        with current_app.test_request_context(base_url=config["TELEGRAM_PUBLIC_URL"]):
            own_page = url_for("payment_pages.topup_return", reference="REFERENCE", _external=True)
        invoice = invoices.open_invoice(ctx.user.id, amount, invoices.payment_method(None),
                                        invoices.ReturnUrls(own_page.replace("REFERENCE", "{reference}")))
    except invoices.BadAmount:
        return _said(ctx, ctx.say("bad_amount", min=config["TOPUP_MIN"], max=config["TOPUP_MAX"]))
    except invoices.GatewayUnavailable:
        return _said(ctx, ctx.say("gateway_down"))
    dialog.end(ctx.chat_id)
    _said(ctx, ctx.say("topup_link", amount=amount, url=invoice.redirect))


def _open_crypto(ctx: Ctx, asset: str, value: str) -> None:
    config = current_app.config
    try:
        invoice = crypto_invoices.open_invoice(ctx.user.id, _amount(value), asset)
    except invoices.BadAmount:
        return _said(ctx, ctx.say("bad_amount", min=config["TOPUP_MIN"], max=config["TOPUP_MAX"]))
    except CryptoUnavailable:
        return _said(ctx, ctx.say("crypto_down"))
    dialog.end(ctx.chat_id)
    ctx.answer()
    ctx.reply(ctx.say("crypto_invoice", amount_asset=crypto_invoices.decimal_text(invoice.amount_asset), asset=asset,
                      network="BEP-20" if asset == "USDT" else "BNB Smart Chain", address=invoice.address,
                      rub=money(invoice.amount_rub), expires=f"{invoice.expires_at:%d.%m.%Y %H:%M} UTC"),
              [[ctx.button("refresh", f"t:r:{invoice.id}")]])


def refresh(ctx: Ctx, invoice_id: str) -> None:
    """The invoice's state now, as GET /crypto_invoice tells it; someone else's or an unknown one is stale."""
    invoice = crypto_invoices.find_for(ctx.user.id, invoice_id)
    if invoice is None:
        return _said(ctx, ctx.say("stale", reason="this invoice is not yours or no longer exists"))
    view = crypto_invoices.as_json(invoice)
    text = ctx.say(f"crypto_{view['state']}", id=invoice.id, asset=invoice.asset, amount_asset=view["amount_asset"],
                   received=view["received_asset"], credited=view["credited"])
    ctx.answer(text)
    ctx.reply(text, [[ctx.button("refresh", f"t:r:{invoice.id}")]] if view["state"] != crypto_invoices.PAID else None)


def _said(ctx: Ctx, text: str) -> None:
    ctx.answer(text)
    ctx.reply(text)
