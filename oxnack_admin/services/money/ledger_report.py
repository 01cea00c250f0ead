"""The ledger as staff read it: filtered listing and CSV export of `transactions`."""
import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select, union
from sqlalchemy.orm import aliased

from oxnack_admin.extensions import db
from oxnack_admin.models import Staff, Transaction, User
from oxnack_admin.models.enums import TransactionStatus, TransactionType
from oxnack_admin.services.paging import ListParams, Page, like_escape, paginate

SORTS = {"when": (Transaction.created_at, Transaction.id), "amount": (Transaction.amount, Transaction.id),
         "type": (Transaction.type, Transaction.id)}
FILTERS = ("user", "type", "status", "since", "until", "staff")
TYPES = [t.value for t in TransactionType]
STATUSES = [s.value for s in TransactionStatus]
CSV_COLUMNS = ("id", "created_at", "user_id", "username", "mail", "type", "amount", "status", "description",
               "server_id", "staff", "gateway_transaction_id")
_staff = aliased(Staff)


def filtered(params: ListParams):
    """Rows of (Transaction, customer mail, staff e-mail) matching the filters."""
    statement = (select(Transaction, User.mail, _staff.email)
                 .outerjoin(User, User.id == Transaction.user_id)
                 .outerjoin(_staff, _staff.id == Transaction.staff_id))
    f = params.filters
    text = f.get("user") or params.q
    if text:
        statement = statement.where(Transaction.id.in_(_matching_ids(f"%{like_escape(text)}%")))
    if f.get("type") in TYPES:
        statement = statement.where(Transaction.type == f["type"])
    if f.get("status") in STATUSES:
        statement = statement.where(Transaction.status == f["status"])
    since, until = parse_day(f.get("since")), parse_day(f.get("until"))
    if since:
        statement = statement.where(Transaction.created_at >= datetime.combine(since, time.min, timezone.utc))
    if until:
        statement = statement.where(Transaction.created_at < datetime.combine(until + timedelta(days=1), time.min,
                                                                              timezone.utc))
    if f.get("staff") == "1":
        statement = statement.where(Transaction.staff_id.is_not(None))
    return statement


def _matching_ids(pattern: str):
    """Ids of rows whose customer mail, username or description contains the text.

    A union of three indexed lookups (trigram indexes, then transactions.user_id): one OR across
    the joined tables would read every row of the ledger.
    """
    by_mail = (select(Transaction.id).join(User, User.id == Transaction.user_id)
               .where(User.mail.ilike(pattern, escape="\\")))
    return union(by_mail, select(Transaction.id).where(Transaction.username.ilike(pattern, escape="\\")),
                 select(Transaction.id).where(Transaction.discription.ilike(pattern, escape="\\")))


def search(params: ListParams) -> Page:
    return paginate(filtered(params), params, SORTS, scalars=False)


def csv_lines(params: ListParams, batch: int = 500) -> Iterator[str]:
    """The filtered ledger as CSV text, header first, streamed in batches (no page limit)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield _drain(buffer)
    columns = SORTS[params.sort]
    columns = columns if isinstance(columns, tuple) else (columns,)
    order = [c.desc() if params.direction == "desc" else c.asc() for c in columns]
    rows = db.session.execute(filtered(params).order_by(*order).execution_options(yield_per=batch))
    for row, mail, staff_email in rows:
        writer.writerow([row.id, row.created_at.isoformat(), row.user_id, _cell(row.username), _cell(mail),
                         row.type, row.amount, row.status, _cell(row.discription), row.server_id,
                         _cell(staff_email), _cell(row.transaction_id)])
        if buffer.tell() > 64 * 1024:
            yield _drain(buffer)
    yield _drain(buffer)


def parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _cell(value) -> str:
    """Text cells that a spreadsheet would run as a formula are prefixed with a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
