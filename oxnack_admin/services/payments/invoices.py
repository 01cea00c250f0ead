"""Opening a top-up: validate the amount, open the payment at Platega, record the PENDING ledger row.

The gateway is asked first and the rows written only once it answered, so a gateway failure
leaves nothing that could be credited later. A gateway transaction whose rows failed to commit
is unknown to us: its callback gets 404 and nothing is ever credited for it.
"""
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import aliased

from oxnack_admin.clients.errors import RemoteError
from oxnack_admin.clients.platega import PlategaClient
from oxnack_admin.extensions import db
from oxnack_admin.models import Invoice, Transaction, User
from oxnack_admin.models.enums import InvoiceState, TransactionStatus, TransactionType
from oxnack_admin.services.money import ledger
from oxnack_admin.services.money.ledger import legacy_date

log = logging.getLogger(__name__)
MAX_METHOD = 1000  # Platega's payment methods are small integers (2 SBP, 11 cards, ...)


class BadAmount(ValueError):
    """Not a whole number of roubles within TOPUP_MIN..TOPUP_MAX."""


class BadMethod(ValueError):
    """`method` is not a Platega paymentMethod number."""


class GatewayUnavailable(Exception):
    """Platega could not open the payment; nothing was recorded. `reason` is for logs and staff."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ReturnUrls:
    """Where Platega sends the payer back; `own_page` is our return page for an invoice reference."""

    own_page: str  # with "{reference}" in it

    def for_invoice(self, reference: str) -> tuple[str, str]:
        config = current_app.config
        mine = self.own_page.replace("{reference}", reference)
        return config.get("PLATEGA_RETURN_URL") or mine, config.get("PLATEGA_FAILED_URL") or mine


def gateway(*, timeout: float | None = None, retries: int | None = None) -> PlategaClient:
    """The Platega client for this app (PermanentRemoteError when it is not configured)."""
    return PlategaClient.from_config(current_app.config, timeout=timeout, retries=retries)


def whole_roubles(value) -> int:
    """The amount as an int within the configured limits, else BadAmount (strings and bools are not amounts)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadAmount("amount must be a number")
    if isinstance(value, float) and not value.is_integer():
        raise BadAmount("amount must be whole roubles")
    amount = int(value)
    if not current_app.config["TOPUP_MIN"] <= amount <= current_app.config["TOPUP_MAX"]:
        raise BadAmount("amount outside TOPUP_MIN..TOPUP_MAX")
    return amount


def payment_method(value) -> int:
    if value is None:
        return int(current_app.config["PLATEGA_PAYMENT_METHOD"])
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_METHOD:
        raise BadMethod("method must be a Platega paymentMethod number")
    return value


def open_invoice(user_id: int, amount: int, method: int, urls: ReturnUrls) -> Invoice:
    """Open the payment at the gateway, then record it; commits. GatewayUnavailable if Platega failed."""
    user = db.session.get(User, user_id)
    if user is None:
        raise LookupError(f"no user {user_id}")
    reference = "inv_" + secrets.token_urlsafe(18)
    return_url, failed_url = urls.for_invoice(reference)
    description = f"Пополнение баланса Oxnack ({user.username or user.mail or user.id}) на {amount} ₽"
    try:
        created = gateway().create_transaction(amount, description=description, return_url=return_url,
                                               failed_url=failed_url, payload=reference, method=method)
    except RemoteError as error:
        db.session.rollback()
        raise GatewayUnavailable(error.message) from None
    row = Transaction(username=user.username, tg_id=user.tg_id, user_id=user.id, type=TransactionType.TOP_UP,
                      amount=Decimal(amount), date=legacy_date(), discription=description,
                      status=TransactionStatus.PENDING, transaction_id=created.id)
    db.session.add(row)
    db.session.flush()
    invoice = Invoice(reference=reference, ledger_row_id=row.id, user_id=user.id, gateway_id=created.id,
                      amount=Decimal(amount), currency="RUB", payment_method=method, redirect=created.redirect,
                      state=InvoiceState.PENDING, gateway_status=created.status, last_answer=created.answer)
    db.session.add(invoice)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the gateway repeated an id we hold: never mix two payments
        raise GatewayUnavailable("Platega answered a transactionId that is already recorded") from None
    return invoice


def find_by_gateway_id(gateway_id) -> Invoice | None:
    if not isinstance(gateway_id, (str, int)) or isinstance(gateway_id, bool) or not 0 < len(str(gateway_id)) <= 200:
        return None
    return db.session.scalar(select(Invoice).where(Invoice.gateway_id == str(gateway_id)))


def adopt_ledger_rows(gateway_id: str | None = None) -> int:
    """Give PENDING `add_balance` rows that have a gateway id but no invoice (the old PaymentAPI's, or
    written by another tool) an invoice, so callbacks and the poller settle them like ours. Commits.

    A gateway id is one payment: of the rows sharing one, only the first is adopted, and none if it
    was credited already; the others are closed unpaid (`close_duplicate_rows`). Each adoption has
    its own savepoint, so one row that fails is logged and skipped, not the whole batch.
    """
    pending = _pending_top_ups(gateway_id)
    first_of_each = (pending.with_only_columns(Transaction.id).where(
        Transaction.user_id.is_not(None), Transaction.amount > 0, ~_credited_row(Transaction).exists(),
        ~select(Invoice.id).where(Invoice.gateway_id == Transaction.transaction_id).exists())
        .distinct(Transaction.transaction_id).order_by(Transaction.transaction_id, Transaction.id))
    rows = list(db.session.scalars(select(Transaction).where(Transaction.id.in_(first_of_each))
                                   .order_by(Transaction.id).limit(500)))
    adopted = 0
    for row in rows:
        try:
            with db.session.begin_nested():
                db.session.add(Invoice(reference="inv_" + secrets.token_urlsafe(18), ledger_row_id=row.id,
                                       user_id=row.user_id, gateway_id=row.transaction_id, amount=row.amount,
                                       currency="RUB", state=InvoiceState.PENDING, created_at=row.created_at,
                                       payment_method=int(current_app.config["PLATEGA_PAYMENT_METHOD"])))
        except IntegrityError:  # adopted concurrently by another caller: theirs stands
            log.info("ledger row %s (gateway id %s) was adopted by another caller", row.id, row.transaction_id)
        except SQLAlchemyError:
            log.exception("ledger row %s (gateway id %s) could not be adopted; the others go on",
                          row.id, row.transaction_id)
        else:
            adopted += 1
    db.session.commit()
    close_duplicate_rows(gateway_id)
    return adopted


def close_duplicate_rows(gateway_id: str | None = None) -> int:
    """Close PENDING top-up rows whose gateway id is already credited or held by another row's invoice:
    one payment is credited once. The reason goes into the row's description; commits."""
    pending = _pending_top_ups(gateway_id)
    credited = _credited_row(Transaction).scalar_subquery()
    holder = select(Invoice.id).where(Invoice.gateway_id == Transaction.transaction_id).scalar_subquery()
    found = db.session.execute(
        pending.with_only_columns(Transaction.id, Transaction.transaction_id, credited, holder)
        .where(or_(credited.is_not(None), holder.is_not(None))).order_by(Transaction.id).limit(500)).all()
    closed = 0
    for row_id, duplicated_id, credited_id, invoice_id in found:
        reason = (f"gateway id {duplicated_id} already credited (transaction #{credited_id})" if credited_id
                  else f"a duplicate of invoice #{invoice_id} (gateway id {duplicated_id})")
        if ledger.close_pending(row_id, reason):
            log.warning("top-up transaction #%s closed unpaid: %s", row_id, reason)
            closed += 1
    db.session.commit()
    return closed


def _pending_top_ups(gateway_id: str | None):
    """PENDING top-up rows with a gateway id and no invoice of their own (optionally for one gateway id)."""
    statement = select(Transaction).where(
        Transaction.type == TransactionType.TOP_UP, Transaction.status == TransactionStatus.PENDING,
        Transaction.transaction_id.is_not(None), Transaction.transaction_id != "",
        ~select(Invoice.id).where(Invoice.ledger_row_id == Transaction.id).exists())
    return statement if gateway_id is None else statement.where(Transaction.transaction_id == gateway_id)


def _credited_row(row):
    """The first other CONFIRMED top-up row with `row`'s gateway id (correlated)."""
    credited = aliased(Transaction)
    return (select(credited.id).where(credited.type == TransactionType.TOP_UP,
                                      credited.status == TransactionStatus.CONFIRMED,
                                      credited.transaction_id == row.transaction_id, credited.id != row.id)
            .order_by(credited.id).limit(1))


def find_by_reference(reference: str) -> Invoice | None:
    if not reference or len(reference) > 100:
        return None
    return db.session.scalar(select(Invoice).where(Invoice.reference == reference))


def expires_at(invoice: Invoice) -> datetime:
    """An unpaid invoice closes TOPUP_PENDING_HOURS after its ledger row was written."""
    opened = invoice.ledger_row.created_at if invoice.state == InvoiceState.PENDING else invoice.created_at
    return opened + timedelta(hours=float(current_app.config["TOPUP_PENDING_HOURS"]))


def is_overdue(invoice: Invoice, now: datetime | None = None) -> bool:
    return (now or datetime.now(timezone.utc)) >= expires_at(invoice)


def pending_invoice_ids(limit: int | None = None) -> list[int]:
    """Ids of pending invoices, those checked longest ago first (the poller's order)."""
    statement = (select(Invoice.id).where(Invoice.state == InvoiceState.PENDING)
                 .order_by(Invoice.checked_at.asc().nulls_first(), Invoice.id))
    return list(db.session.scalars(statement.limit(limit or current_app.config["TOPUP_POLL_BATCH"])))


__all__ = ["BadAmount", "BadMethod", "GatewayUnavailable", "ReturnUrls", "open_invoice"]
