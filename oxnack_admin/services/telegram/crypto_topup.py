"""Top-up in the bot with USDT or BNB: the same crypto invoice as POST /create_crypto_invoice.

The amount screen's answer (the Platega link, or the gateway being down) carries one button per
asset while crypto top-ups are configured; a press opens a crypto invoice for that amount.
"""
from flask import current_app

from oxnack_admin.services.crypto import invoices as crypto_invoices
from oxnack_admin.services.crypto import node as crypto_node
from oxnack_admin.services.crypto.node import CryptoUnavailable
from oxnack_admin.services.payments import invoices
from oxnack_admin.services.telegram import dialog
from oxnack_admin.services.telegram.context import Ctx

PREFIX = "c:"  # t:c:<asset>:<amount>


def asset_buttons(amount: int) -> list[list[dict]] | None:
    """One button per asset for `amount` roubles, or None while crypto top-ups are off."""
    if not crypto_node.enabled():
        return None
    return [[{"text": f"{asset} (BEP-20)" if asset == "USDT" else asset, "callback_data": f"t:{PREFIX}{asset}:{amount}"}
             for asset in crypto_invoices.ASSETS]]


def open_crypto(ctx: Ctx, value: str) -> None:
    """A press of an asset button: open the invoice and send its address and amount."""
    config = current_app.config
    asset, _, amount = value.partition(":")
    try:
        roubles = invoices.whole_roubles(int(amount) if amount.isdigit() else None)
        invoice = crypto_invoices.open_invoice(ctx.user.id, roubles, crypto_invoices.asset(asset))
    except (invoices.BadAmount, crypto_invoices.BadAsset):
        return _said(ctx, ctx.say("bad_amount", min=config["TOPUP_MIN"], max=config["TOPUP_MAX"]))
    except CryptoUnavailable:
        return _said(ctx, ctx.say("crypto_down"))
    dialog.end(ctx.chat_id)
    _said(ctx, ctx.say("topup_crypto", amount=crypto_invoices.decimal_text(invoice.amount_asset), asset=invoice.asset,
                       roubles=roubles, address=invoice.address, confirmations=config["CRYPTO_CONFIRMATIONS"],
                       expires=invoice.expires_at.strftime("%Y-%m-%d %H:%M UTC"), id=invoice.id))


def _said(ctx: Ctx, text: str) -> None:
    ctx.answer(text)
    ctx.reply(text)
