"""Platega's callback: who may send it, and what it triggers (a re-read, never the body's word)."""
import hmac
import logging

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from oxnack_admin.extensions import db
from oxnack_admin.services.ops import queueing
from oxnack_admin.services.payments import crediting, invoices

log = logging.getLogger(__name__)
CHECK_JOB = "jobs.payments.check_invoice"


def authorized(merchant_id: str | None, secret: str | None) -> bool:
    """Both headers equal our merchant id and secret, compared in constant time; never with empty settings."""
    config = current_app.config
    expected_id, expected_secret = config.get("PLATEGA_MERCHANT_ID") or "", config.get("PLATEGA_SECRET") or ""
    if not expected_id or not expected_secret:
        return False
    # Both comparisons always run, so timing does not tell which header was wrong.
    id_ok = hmac.compare_digest((merchant_id or "").encode(), expected_id.encode())
    secret_ok = hmac.compare_digest((secret or "").encode(), expected_secret.encode())
    return id_ok and secret_ok


def handle(gateway_id) -> bool:
    """Re-read the invoice the callback names and settle it; False if we never issued it.

    The re-read gets PLATEGA_CALLBACK_TIMEOUT and no retries, so Platega gets its answer fast; if the
    gateway (or the database) is slow or busy, a queued job and the poller finish the work.
    """
    invoice = invoices.find_by_gateway_id(gateway_id)
    if invoice is None and invoices.adopt_ledger_rows(str(gateway_id)):
        invoice = invoices.find_by_gateway_id(gateway_id)
    if invoice is None:
        return False
    invoice_id = invoice.id
    try:
        outcome = crediting.check_invoice(invoice_id, "callback",
                                          timeout=current_app.config["PLATEGA_CALLBACK_TIMEOUT"], retries=0)
    except SQLAlchemyError as error:  # e.g. a deadlock with a concurrent credit: the check is safe to repeat
        db.session.rollback()
        log.warning("callback for invoice %s: database busy (%s); checking again in a job", invoice_id,
                    type(error).__name__)
        outcome = None
    if outcome is None or outcome.action == "unreachable":
        queueing.enqueue(queueing.DEFAULT, CHECK_JOB, invoice_id)
    return True
