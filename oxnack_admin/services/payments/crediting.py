"""Settling invoices from what Platega says: credit exactly once, close, reverse a chargeback.

Nothing a callback body says is trusted: every decision starts from `GET /transaction/<id>`.
The gateway is read outside any database transaction; then the invoice row is locked and the
decision, the ledger change and the invoice's new state commit together. The credit itself is
the conditional PENDING -> CONFIRMED update of the ledger row (`ledger.confirm_pending_credit`),
so callbacks, their repeats, the poller and a staff member racing each other credit once.
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_DOWN, Decimal

from flask import current_app
from sqlalchemy import select

from oxnack_admin.clients import platega
from oxnack_admin.clients.errors import RemoteError, short
from oxnack_admin.extensions import db
from oxnack_admin.models import Invoice, Transaction, User
from oxnack_admin.models.enums import InvoiceState, TransactionStatus, TransactionType
from oxnack_admin.services.lifecycle import renewal
from oxnack_admin.services import notices
from oxnack_admin.services.money import ledger
from oxnack_admin.services.payments import invoices
from oxnack_admin.services.staff import audit
from oxnack_admin.services.support import alerts

log = logging.getLogger(__name__)
CENT = Decimal("0.01")
# What staff may credit by hand: not yet paid, whatever the gateway said.
CREDITABLE_BY_HAND = (InvoiceState.PENDING, InvoiceState.CANCELED, InvoiceState.EXPIRED)


@dataclass(frozen=True)
class Outcome:
    """What one check of an invoice did: `action` is credited, closed, expired, charged_back,
    attention, unchanged or unreachable."""

    invoice_id: int
    action: str
    state: str
    detail: str = ""


def check_invoice(invoice_id: int, source: str, *, timeout: float | None = None,
                  retries: int | None = None) -> Outcome:
    """Re-read the invoice at Platega and act on it; commits. Gateway failures are recorded, not raised."""
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None:
        raise LookupError(f"no invoice {invoice_id}")
    gateway_id = invoice.gateway_id
    db.session.rollback()  # no transaction (and no row lock) held while the gateway is asked
    try:
        seen = invoices.gateway(timeout=timeout, retries=retries).get_transaction(gateway_id)
    except platega.GatewayUnknownTransaction as error:
        return _unknown_at_gateway(invoice_id, error.message)
    except RemoteError as error:
        return _record_failure(invoice_id, error.message)
    return apply(invoice_id, seen, source)


def apply(invoice_id: int, seen: platega.GatewayTransaction, source: str) -> Outcome:
    """Act on a status read from the gateway (never on a callback body); commits."""
    invoice = _locked(invoice_id)
    _remember(invoice, seen.status, seen.answer)
    mismatch = _mismatch(invoice, seen)
    credited = False
    if seen.status == platega.CONFIRMED and mismatch:
        outcome = _flag(invoice, f"Platega confirmed it, but {mismatch}; not credited: check and mark paid by hand")
    elif seen.status == platega.CONFIRMED:
        outcome, credited = _confirm(invoice, source)
    elif seen.status == platega.CHARGEBACKED:
        outcome = _charged_back(invoice)
    elif seen.status in platega.CLOSED:
        outcome = _close(invoice, InvoiceState.CANCELED, f"Platega says {seen.status}")
    elif invoice.state == InvoiceState.PENDING and invoices.is_overdue(invoice):
        outcome = _close(invoice, InvoiceState.EXPIRED, "unpaid for TOPUP_PENDING_HOURS")
    else:
        outcome = Outcome(invoice.id, "unchanged", invoice.state)
    db.session.commit()
    if credited:
        _finish_credit(invoice_id)
    return outcome


def mark_paid(invoice_id: int, staff, reason: str) -> Outcome:
    """A staff member credits an invoice by hand (pending, canceled or expired); still at most once. Commits."""
    invoice = _locked(invoice_id)
    if invoice.state not in CREDITABLE_BY_HAND:
        db.session.rollback()
        return Outcome(invoice_id, "unchanged", invoice.state, f"the invoice is {invoice.state} already")
    before = {"state": invoice.state, "ledger_status": invoice.ledger_row.status}
    outcome, credited = _confirm(invoice, staff.email, by_hand=True)
    if credited:
        audit.record(staff, "invoice.mark_paid", "invoice", invoice.id, before=before,
                     after={"state": invoice.state, "amount": str(invoice.amount), "reason": reason,
                            "user_id": invoice.user_id, "gateway_id": invoice.gateway_id})
    db.session.commit()
    if credited:
        _finish_credit(invoice_id)
    return outcome


def topup_credited(invoice_id: int) -> None:
    """Runs once per credited invoice, after the credit committed: what a payment unlocks.

    A suspended server the new balance now covers is renewed and restarted at once.
    """
    invoice = db.session.get(Invoice, invoice_id)
    log.info("invoice %s credited %s to user %s (%s)", invoice_id, invoice.amount, invoice.user_id,
             invoice.credited_by)
    if invoice.user_id is not None:
        renewal.resume_suspended_after_credit(invoice.user_id)


def _finish_credit(invoice_id: int) -> None:
    # The credit is committed whatever follows: a failing follow-up must not turn the callback into a 5xx
    # (Platega would only repeat it) nor hide the credit from the caller.
    try:
        topup_credited(invoice_id)
    except Exception:  # noqa: BLE001 - logged with its traceback; the credit stands
        db.session.rollback()
        log.exception("invoice %s: credited, but what follows a credit failed", invoice_id)


# --- the decisions (invoice row locked, caller commits) ---------------------------------------

def _confirm(invoice: Invoice, source: str, *, by_hand: bool = False) -> tuple[Outcome, bool]:
    # By hand, mark_paid has checked the state, and a closed invoice's CANCELED ledger row is credited too.
    if invoice.state != InvoiceState.PENDING and not by_hand:
        if invoice.state in (InvoiceState.CANCELED, InvoiceState.EXPIRED):
            return _flag(invoice, f"Platega confirmed it after it was {invoice.state}; "
                                  "check and mark paid by hand"), False
        return Outcome(invoice.id, "unchanged", invoice.state), False
    credited_as = _credited_elsewhere(invoice)
    if credited_as is not None:  # e.g. a legacy duplicate adopted before adoption skipped them
        why = f"its gateway id was credited already (transaction #{credited_as}); not credited again"
        if invoice.state == InvoiceState.PENDING:
            _close(invoice, InvoiceState.CANCELED, why, in_ledger=True)
        return _flag(invoice, why), False
    row = ledger.confirm_pending_credit(invoice.ledger_row_id,
                                        also_from=(TransactionStatus.CANCELED,) if by_hand else ())
    if row is None:  # someone else booked it first (or its customer is gone)
        return Outcome(invoice.id, "unchanged", invoice.state), False
    now = datetime.now(timezone.utc)
    invoice.state, invoice.credited_at, invoice.credited_by, invoice.closed_at = InvoiceState.PAID, now, source, now
    if invoice.attention and by_hand:
        invoice.attention = None
    _pay_referral(invoice)
    _mail_customer(invoice)
    return Outcome(invoice.id, "credited", invoice.state), True


def _charged_back(invoice: Invoice) -> Outcome:
    if invoice.state == InvoiceState.PENDING:  # never credited: close it, book nothing
        return _close(invoice, InvoiceState.CANCELED, "Platega says CHARGEBACKED before any credit")
    if invoice.state != InvoiceState.PAID:
        return Outcome(invoice.id, "unchanged", invoice.state)
    row = ledger.move_money(invoice.user_id, -invoice.amount, TransactionType.CHARGEBACK,
                            f"Возврат платежа {invoice.gateway_id} (chargeback)", allow_negative=True,
                            idempotency_key=f"chargeback:invoice:{invoice.id}")
    if row is not None:
        row.transaction_id = invoice.gateway_id
        invoice.chargeback_row_id = row.id
    _reverse_referral(invoice)
    invoice.state = InvoiceState.CHARGED_BACK
    return Outcome(invoice.id, "charged_back", invoice.state)


def _close(invoice: Invoice, state: str, why: str, *, in_ledger: bool = False) -> Outcome:
    # `in_ledger`: the reason is also written on the ledger row, for a close staff would not expect there.
    if invoice.state != InvoiceState.PENDING:
        if invoice.state == InvoiceState.PAID:
            return _flag(invoice, f"{why} after the credit; the credit stands: check it at Platega")
        return Outcome(invoice.id, "unchanged", invoice.state)
    ledger.close_pending(invoice.ledger_row_id, why if in_ledger else None)
    invoice.state, invoice.closed_at = state, datetime.now(timezone.utc)
    return Outcome(invoice.id, "expired" if state == InvoiceState.EXPIRED else "closed", invoice.state, why)


def _flag(invoice: Invoice, attention: str) -> Outcome:
    if invoice.attention != attention:
        log.warning("invoice %s needs attention: %s", invoice.id, attention)
        alerts.alert("payment_flagged", f"Invoice {invoice.id}: {attention}", ("console.invoices_show", {"invoice_id": invoice.id}))
    invoice.attention = attention
    return Outcome(invoice.id, "attention", invoice.state, attention)


def _mismatch(invoice: Invoice, seen: platega.GatewayTransaction) -> str | None:
    """Why the gateway's view is not this invoice's payment, or None."""
    if seen.id != invoice.gateway_id:
        return f"its id is {short(seen.id, 60)!r}"
    if seen.amount is None or seen.amount != invoice.amount:
        return f"for {seen.amount} instead of {invoice.amount}"
    if seen.currency not in (None, invoice.currency):
        return f"in {short(seen.currency, 10)} instead of {invoice.currency}"
    if seen.payload is not None and seen.payload != invoice.reference:
        return "with another payload"
    return None


def _pay_referral(invoice: Invoice) -> None:
    """The referrer named by the payer's legacy `ref_id` (a tg_id) gets REF_SHARE, once per invoice."""
    pay_referral_share(invoice.user_id, invoice.amount, _referral_key(invoice.id))


def pay_referral_share(payer_id: int | None, credited: Decimal, idempotency_key: str) -> None:
    """REF_SHARE of a credit (rounded down to kopecks) to the payer's referrer, once per key; any top-up uses it."""
    share = Decimal(str(current_app.config.get("REF_SHARE") or 0))
    payer = db.session.get(User, payer_id) if payer_id is not None else None
    if share <= 0 or payer is None or not payer.ref_id:
        return
    referrer_id = db.session.scalar(select(User.id).where(User.tg_id == payer.ref_id, User.id != payer.id)
                                    .order_by(User.id).limit(1))
    amount = (credited * share).quantize(CENT, rounding=ROUND_DOWN)
    if referrer_id is None or amount <= 0:
        return
    ledger.move_money(referrer_id, amount, TransactionType.REFERRAL,
                      f"Реферальное начисление: пополнение {payer.username or payer.id}",
                      idempotency_key=idempotency_key)


def _reverse_referral(invoice: Invoice) -> None:
    """The share paid for a charged-back top-up goes back, once; the referrer's balance may go negative."""
    share = db.session.scalar(select(Transaction).where(Transaction.idempotency_key == _referral_key(invoice.id),
                                                        Transaction.status == TransactionStatus.CONFIRMED))
    if share is None or share.user_id is None:
        return
    ledger.move_money(share.user_id, -share.amount, TransactionType.REFERRAL_REVERSAL,
                      f"Отмена реферального начисления #{share.id}: платёж {invoice.gateway_id} возвращён (chargeback)",
                      allow_negative=True, idempotency_key=f"referral-reversal:invoice:{invoice.id}")


def _referral_key(invoice_id: int) -> str:
    return f"referral:invoice:{invoice_id}"


def _credited_elsewhere(invoice: Invoice) -> int | None:
    """Another CONFIRMED top-up row with this invoice's gateway id: that payment is credited already."""
    return db.session.scalar(select(Transaction.id).where(
        Transaction.type == TransactionType.TOP_UP, Transaction.status == TransactionStatus.CONFIRMED,
        Transaction.transaction_id == invoice.gateway_id, Transaction.id != invoice.ledger_row_id)
        .order_by(Transaction.id).limit(1))


def _mail_customer(invoice: Invoice) -> None:
    mail_top_up(invoice.user_id, invoice.amount)


def mail_top_up(user_id: int | None, credited: Decimal) -> None:
    """Tell the customer a top-up arrived (mail and/or Telegram, queued with the caller's transaction)."""
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None:
        return
    notices.notify(user, "top_up_received", amount=_roubles(credited), balance=_roubles(ledger.balance_of(user.id)))


def _roubles(amount: Decimal) -> str:
    return f"{ledger.as_json_number(amount)} ₽"


# --- bookkeeping ------------------------------------------------------------------------------

def _locked(invoice_id: int) -> Invoice:
    invoice = db.session.scalar(select(Invoice).where(Invoice.id == invoice_id).with_for_update()
                                .execution_options(populate_existing=True))
    if invoice is None:
        raise LookupError(f"no invoice {invoice_id}")
    return invoice


def _remember(invoice: Invoice, status: str | None, answer: dict | None, error: str | None = None) -> None:
    invoice.checks = (invoice.checks or 0) + 1
    invoice.checked_at = datetime.now(timezone.utc)
    if status is not None:
        invoice.gateway_status, invoice.last_answer = status, answer
    invoice.last_error = error


def _record_failure(invoice_id: int, message: str) -> Outcome:
    invoice = _locked(invoice_id)
    _remember(invoice, None, None, message)
    db.session.commit()
    return Outcome(invoice_id, "unreachable", invoice.state, message)


def _unknown_at_gateway(invoice_id: int, message: str) -> Outcome:
    """Platega has no such payment: nothing can ever be paid on it, so close it once it is overdue."""
    invoice = _locked(invoice_id)
    _remember(invoice, None, None, message)
    if invoice.state == InvoiceState.PENDING and invoices.is_overdue(invoice):
        outcome = _close(invoice, InvoiceState.EXPIRED, "unknown at Platega and overdue")
    else:
        outcome = Outcome(invoice_id, "unreachable", invoice.state, message)
    db.session.commit()
    return outcome
