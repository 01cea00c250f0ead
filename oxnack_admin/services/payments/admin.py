"""Invoices as staff see them: filtered listing, counts by state, the pending list for /debug/cache."""
from sqlalchemy import String, cast, func, or_, select

from oxnack_admin.extensions import db
from oxnack_admin.models import Invoice, Transaction, User
from oxnack_admin.models.enums import InvoiceState, TransactionStatus, TransactionType
from oxnack_admin.services.money.ledger import as_json_number
from oxnack_admin.services.paging import ListParams, Page, like_escape, paginate

SORTS = {"created": (Invoice.created_at, Invoice.id), "amount": (Invoice.amount, Invoice.id),
         "checked": (Invoice.checked_at, Invoice.id)}
FILTERS = ("state", "customer", "attention")
STATES = [state.value for state in InvoiceState]
MAX_REASON = 500


def search(params: ListParams) -> Page:
    """Rows of (Invoice, customer mail, customer username) by state, customer text and attention."""
    statement = select(Invoice, User.mail, User.username).outerjoin(User, User.id == Invoice.user_id)
    f = params.filters
    if f.get("state") in STATES:
        statement = statement.where(Invoice.state == f["state"])
    text = f.get("customer") or params.q
    if text:
        pattern = f"%{like_escape(text)}%"
        statement = statement.where(or_(User.mail.ilike(pattern, escape="\\"),
                                        User.username.ilike(pattern, escape="\\"),
                                        cast(Invoice.user_id, String) == text,
                                        Invoice.gateway_id.ilike(pattern, escape="\\"),
                                        Invoice.reference == text))
    if f.get("attention") == "1":
        statement = statement.where(Invoice.attention.is_not(None))
    return paginate(statement, params, SORTS, scalars=False)


def counts_by_state() -> dict[str, int]:
    found = dict(db.session.execute(select(Invoice.state, func.count(Invoice.id)).group_by(Invoice.state)).all())
    return {state: found.get(state, 0) for state in STATES}


def clean_reason(reason: str | None) -> str:
    """A staff reason: required, printable, bounded."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValueError("A reason is required.")
    if len(reason) > MAX_REASON or not reason.isprintable():
        raise ValueError(f"The reason must be printable and at most {MAX_REASON} characters.")
    return reason


def pending_for_api() -> list[dict]:
    """/debug/cache: every top-up still waiting for the gateway (ours and legacy rows), oldest first."""
    rows = db.session.execute(
        select(Transaction.transaction_id, Transaction.username, Transaction.amount, Transaction.created_at)
        .where(Transaction.type == TransactionType.TOP_UP, Transaction.status == TransactionStatus.PENDING)
        .order_by(Transaction.created_at, Transaction.id)).all()
    return [{"transaction_id": gateway_id, "username": username, "amount": as_json_number(amount),
             "created_at": created_at.isoformat()} for gateway_id, username, amount, created_at in rows]
