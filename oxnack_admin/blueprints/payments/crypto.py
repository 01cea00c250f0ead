"""Crypto top-ups (USDT and BNB on BNB Smart Chain) in the payments blueprint's classic JSON style."""
import logging

from flask import request

from oxnack_admin.services.crypto import invoices as crypto_invoices
from oxnack_admin.services.crypto.node import CryptoUnavailable
from oxnack_admin.services.payments import invoices
from ...web.classic import ClassicError, json_object, rate_limited, require_customer, signed_in_account
from . import bp

log = logging.getLogger(__name__)


@bp.errorhandler(crypto_invoices.BadAsset)
def refuse_asset(error):
    return bp.error_response(400, "bad asset")


@bp.errorhandler(CryptoUnavailable)
def crypto_unavailable(error: CryptoUnavailable):
    log.warning("crypto top-up refused: %s", error.reason)
    return bp.error_response(503, "crypto payments unavailable")


@bp.post("/create_crypto_invoice")
@rate_limited("RATELIMIT_INVOICE", account=signed_in_account)
def create_crypto_invoice():
    customer = require_customer("unlogin")
    body = json_object()
    if body is None:
        raise invoices.BadAmount("the body is not a JSON object")
    amount = invoices.whole_roubles(body.get("amount"))
    asset = crypto_invoices.asset(body.get("asset"))
    invoice = crypto_invoices.open_invoice(customer.id, amount, asset)
    return {"status": "created", "invoice_id": invoice.id, "asset": invoice.asset, "address": invoice.address,
            "amount_asset": crypto_invoices.decimal_text(invoice.amount_asset),
            "rate": crypto_invoices.decimal_text(invoice.rate), "expires_at": crypto_invoices.iso(invoice.expires_at)}, 201


@bp.get("/crypto_invoice")
def crypto_invoice():
    customer = require_customer("unlogin")
    invoice = crypto_invoices.find_for(customer.id, request.args.get("invoice_id"))
    if invoice is None:
        raise ClassicError(404, "unknown invoice")
    return crypto_invoices.as_json(invoice)
