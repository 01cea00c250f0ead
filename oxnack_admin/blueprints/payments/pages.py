"""The payer's return page on our own origin: the invoice's state and a link back to the site."""
from flask import Blueprint, abort, current_app, render_template

from oxnack_admin.clients.platega import PENDING
from oxnack_admin.models.enums import InvoiceState
from oxnack_admin.services.money.ledger import as_json_number
from oxnack_admin.services.payments import crediting, invoices

pages_bp = Blueprint("payment_pages", __name__)


@pages_bp.get("/topup/return/<reference>")
def topup_return(reference: str):
    invoice = invoices.find_by_reference(reference) or abort(404)
    if invoice.state == InvoiceState.PENDING:
        # The payer is often back before the callback: ask the gateway now (briefly) instead of showing stale news.
        # The check commits, which expires `invoice`: it reloads the new state below.
        crediting.check_invoice(invoice.id, "return page", timeout=current_app.config["PLATEGA_CALLBACK_TIMEOUT"],
                                retries=0)
    response = current_app.make_response(render_template(
        "payments/return.html", invoice=invoice, amount=as_json_number(invoice.amount), site_url=_site_url(),
        pending=invoice.state == InvoiceState.PENDING, gateway_pending=invoice.gateway_status in (None, PENDING)))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the reference in the URL is the page's key
    return response


def _site_url() -> str:
    config = current_app.config
    return config.get("TOPUP_SITE_URL") or next(iter(config.get("CORS_ORIGINS") or []), "/")
