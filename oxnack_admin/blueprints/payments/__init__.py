"""Balance top-ups through Platega (was the PaymentAPI on port 8000), in the classic JSON style.

Errors answer {"status": "error", "message": "<message>"}; the payer's return page is in `pages`.
"""
import logging

from flask import request, url_for

from oxnack_admin.services.money.ledger import as_json_number
from oxnack_admin.services.payments import admin, callbacks, invoices
from ...web.classic import ClassicBlueprint, ClassicError, any_origin, json_object, rate_limited, require_customer, \
    signed_in_account, status_error
from ...web.staff_api import staff_token_required

bp = ClassicBlueprint("payments", __name__, shape=status_error)
log = logging.getLogger(__name__)


@bp.errorhandler(invoices.BadAmount)
def refuse_amount(error):
    return bp.error_response(400, "bad amount")


@bp.errorhandler(invoices.BadMethod)
def refuse_method(error):
    return bp.error_response(400, "bad method")


@bp.errorhandler(invoices.GatewayUnavailable)
def gateway_unavailable(error: invoices.GatewayUnavailable):
    log.warning("top-up refused, Platega unavailable: %s", error.reason)
    return bp.error_response(502, "payment gateway unavailable")


@bp.post("/create_invoice")
@rate_limited("RATELIMIT_INVOICE", account=signed_in_account)
def create_invoice():
    customer = require_customer("unlogin")
    body = json_object()
    if body is None:
        raise invoices.BadAmount("the body is not a JSON object")
    amount = invoices.whole_roubles(body.get("amount"))
    method = invoices.payment_method(body.get("method"))
    own_page = url_for("payment_pages.topup_return", reference="REFERENCE", _external=True)
    invoice = invoices.open_invoice(customer.id, amount, method,
                                    invoices.ReturnUrls(own_page.replace("REFERENCE", "{reference}")))
    return {"status": "created", "transaction_id": invoice.gateway_id, "redirect": invoice.redirect,
            "amount": as_json_number(invoice.amount)}, 201


@bp.post("/platega/callback")
@any_origin  # Platega's servers call it, authenticated by their merchant id and secret
def platega_callback():
    if not callbacks.authorized(request.headers.get("X-MerchantId"), request.headers.get("X-Secret")):
        raise ClassicError(401, "unauthorized")
    body = json_object()
    if body is None or body.get("id") in (None, ""):
        raise ClassicError(400, "bad request")
    if not callbacks.handle(body["id"]):
        raise ClassicError(404, "unknown invoice")
    return {"status": "ok"}


@bp.get("/debug/cache")
@staff_token_required()
def debug_cache():
    return {"pending": admin.pending_for_api()}


from .pages import pages_bp  # noqa: E402,F401
from . import crypto  # noqa: E402,F401  (its routes are on bp)
