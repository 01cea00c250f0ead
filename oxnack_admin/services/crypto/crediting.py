"""Crediting what reached a deposit address: one ledger row per recorded transfer, exactly once.

A transfer row is recorded first (unique per chain + tx hash + log index, or per BNB balance
reached); crediting then locks that row and books it only while `credited_at` is empty, and the
ledger row carries an idempotency key of the same identity, so repeats, restarts and concurrent
watchers credit once. The referral share, the mail and the resume of a suspended server follow
the Platega top-up's rules (services/payments/crediting.py).
"""
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import CryptoInvoice, CryptoTransfer
from oxnack_admin.models.enums import TransactionType
from oxnack_admin.services.crypto import invoices
from oxnack_admin.services.lifecycle import renewal
from oxnack_admin.services.money import ledger
from oxnack_admin.services.payments.crediting import mail_top_up, pay_referral_share

log = logging.getLogger(__name__)
CENT = Decimal("0.01")
RateLookup = Callable[[str], Decimal | None]  # asset -> the current rate, None when the rate source is down


def creditable_ids() -> list[int]:
    """Recorded transfers not yet credited that arrived before their invoice's watch ended."""
    return list(db.session.scalars(
        select(CryptoTransfer.id).join(CryptoInvoice, CryptoInvoice.id == CryptoTransfer.invoice_id)
        .where(CryptoTransfer.credited_at.is_(None), CryptoTransfer.block_time <= CryptoInvoice.watch_until)
        .order_by(CryptoTransfer.id)))


def credit_transfer(transfer_id: int, current_rate: RateLookup) -> Decimal | None:
    """Book one recorded transfer into its customer's balance; the roubles credited, or None. Commits."""
    transfer = db.session.scalar(select(CryptoTransfer).where(CryptoTransfer.id == transfer_id).with_for_update()
                                 .execution_options(populate_existing=True))
    if transfer is None or transfer.credited_at is not None:
        db.session.rollback()
        return None
    invoice = db.session.get(CryptoInvoice, transfer.invoice_id, with_for_update=True, populate_existing=True)
    in_window = transfer.block_time <= invoice.expires_at
    rate = invoice.rate if in_window else current_rate(invoice.asset)
    if rate is None:
        transfer.note = "after the quote's window: waiting for the rate source to credit it at the current rate"
        db.session.commit()
        return None
    roubles = (transfer.amount_asset * rate).quantize(CENT, rounding=ROUND_DOWN)
    if roubles > 0 and invoice.user_id is not None:
        row = ledger.move_money(invoice.user_id, roubles, TransactionType.TOP_UP, _description(invoice, transfer),
                                idempotency_key=_ledger_key(transfer))
        if row is not None:
            row.transaction_id = transfer.tx_hash or f"{invoice.address}@{transfer.block_number}"
            transfer.ledger_row_id = row.id
            pay_referral_share(invoice.user_id, roubles, f"referral:crypto:{transfer.id}")
            mail_top_up(invoice.user_id, roubles)
            renewal.schedule_resume_after_commit(invoice.user_id)
    transfer.rate, transfer.credited_rub, transfer.credited_at = rate, roubles, datetime.now(timezone.utc)
    transfer.note = None if invoice.user_id is not None else "the customer is gone: nothing credited"
    invoice.credited_rub = (invoice.credited_rub or 0) + roubles
    db.session.commit()
    log.info("crypto invoice %s: %s %s credited %s RUB at %s (transfer %s)", invoice.id, transfer.amount_asset,
             invoice.asset, roubles, rate, transfer.id)
    return roubles


def refresh_received(invoice_id: int) -> None:
    """An invoice's received amount and state from its transfers inside the watch (caller commits).

    A transfer after the watch is kept for staff but never credited, so it neither counts as
    received nor makes the invoice paid.
    """
    invoice = db.session.get(CryptoInvoice, invoice_id)
    invoice.received_asset = db.session.scalar(select(func.coalesce(func.sum(CryptoTransfer.amount_asset), 0))
                                               .where(CryptoTransfer.invoice_id == invoice_id,
                                                      CryptoTransfer.block_time <= invoice.watch_until))
    invoice.state = invoices.state_of(invoice)


def _ledger_key(transfer: CryptoTransfer) -> str:
    if transfer.tx_hash is not None:
        return f"crypto:{transfer.chain_id}:{transfer.tx_hash}:{transfer.log_index}"
    return f"crypto:{transfer.chain_id}:bnb:{transfer.invoice_id}:{transfer.balance_total}"


def _description(invoice: CryptoInvoice, transfer: CryptoTransfer) -> str:
    return (f"Пополнение баланса {invoice.asset}: {invoices.decimal_text(transfer.amount_asset)} {invoice.asset} "
            f"(счёт #{invoice.id})")
