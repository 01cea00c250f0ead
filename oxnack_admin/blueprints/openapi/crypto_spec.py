"""The crypto top-up calls in the OpenAPI document: open a USDT/BNB invoice, read what arrived."""
from flask import current_app

from . import parts as s

ASSET = {"type": "string", "enum": ["USDT", "BNB"]}
# Decimal strings, never exponent notation: the quote has at most 6 places, a received amount up to 18.
QUOTE = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,6})?$"}
AMOUNT = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,18})?$"}
ROUBLES = {"type": "string", "pattern": r"^[0-9]+\.[0-9]{2}$"}
UTC_TIME = {"type": "string", "format": "date-time", "pattern": "(Z|\\+00:00)$"}
ADDRESS = {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$", "description": "EIP-55 checksummed"}
INVOICE_ID = {"type": "integer", "minimum": 1}


def paths() -> dict:
    """POST /create_crypto_invoice and GET /crypto_invoice."""
    config, error = current_app.config, s.STATUS_ERROR
    unavailable = "crypto payments unavailable (off, the node or the rate source down, another chain)"
    return {
        "/create_crypto_invoice": {"post": {
            "summary": "Open a USDT or BNB top-up: a fresh watch-only address and the amount at the current rate",
            "tags": ["payments"], "security": s.SESSION,
            "requestBody": s.body(s.obj(["amount", "asset"], {
                "amount": s.integer(config["TOPUP_MIN"], config["TOPUP_MAX"]), "asset": ASSET}, closed=False)),
            "responses": {"201": s.answer(s.obj(["status", "invoice_id", "asset", "address", "amount_asset", "rate",
                                                 "expires_at"], {
                              "status": {"type": "string", "enum": ["created"]}, "invoice_id": INVOICE_ID,
                              "asset": ASSET, "address": ADDRESS, "amount_asset": QUOTE,
                              "rate": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
                              "expires_at": UTC_TIME}),
                              "Send amount_asset to address before expires_at; the quoted rate holds until then"),
                          **s.errors(error, {400: "bad amount / bad asset", 401: "unlogin",
                                              413: "Body over MAX_CONTENT_LENGTH", 429: "Rate limit",
                                              503: unavailable})}}},
        "/crypto_invoice": {"get": {
            "summary": "A crypto invoice: what arrived, what was credited, its state", "tags": ["payments"],
            "security": s.SESSION,
            "parameters": [{"name": "invoice_id", "in": "query", "required": True, "schema": INVOICE_ID}],
            "responses": {"200": s.answer(s.obj(["status", "invoice_id", "asset", "address", "amount_asset",
                                                 "received_asset", "credited", "state", "expires_at"], {
                              "status": {"type": "string", "enum": ["good"]}, "invoice_id": INVOICE_ID,
                              "asset": ASSET, "address": ADDRESS, "amount_asset": QUOTE, "received_asset": AMOUNT,
                              "credited": ROUBLES,
                              "state": {"type": "string", "enum": ["waiting", "paid", "partially_paid", "expired"]},
                              "expires_at": UTC_TIME}), "The invoice"),
                          **s.errors(error, {401: "unlogin", 404: "unknown invoice (or not yours)"})}}},
    }
