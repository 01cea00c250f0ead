"""The ledger: every change of a balance is one conditional UPDATE plus one `transactions` row.

Callers own the database transaction: these functions flush but never commit, so a money
movement and whatever it pays for (a claimed VM, a proxy) commit or roll back together.
"""
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from oxnack_admin.extensions import db
from oxnack_admin.models import Transaction, User
from oxnack_admin.models.enums import TransactionStatus


class InsufficientFunds(Exception):
    """The balance does not cover a debit."""


def legacy_date(moment: datetime | None = None) -> str:
    """The legacy 'dd.mm.yyyy' text the old services wrote and read."""
    return (moment or datetime.now(timezone.utc)).strftime("%d.%m.%Y")


def move_money(user_id: int, amount: Decimal | int, kind: str, description: str, *,
               server_id: int | None = None, staff_id: int | None = None,
               idempotency_key: str | None = None, allow_negative: bool = False,
               status: str = TransactionStatus.CONFIRMED) -> Transaction | None:
    """Credit (amount > 0) or debit (amount < 0) a balance and record it.

    Debits never take a balance below zero unless `allow_negative`: raises InsufficientFunds.
    With an `idempotency_key` that was used before, nothing moves and None is returned.
    """
    amount = Decimal(amount)
    user = db.session.get(User, user_id)
    if user is None:
        raise LookupError(f"no user {user_id}")
    values = dict(username=user.username, tg_id=user.tg_id, user_id=user_id, type=kind, amount=amount,
                  date=legacy_date(), discription=description, status=status, server_id=server_id,
                  staff_id=staff_id, idempotency_key=idempotency_key)
    # The ledger row goes first: its unique key is what makes a retried refund a no-op.
    inserted = db.session.execute(
        insert(Transaction).values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Transaction.id)
    ).scalar_one_or_none()
    if inserted is None:
        return None
    change = update(User).where(User.id == user_id).values(balance=_balance_plus(amount))
    if amount < 0 and not allow_negative:
        change = change.where(_balance_plus(amount) >= 0)
    if db.session.execute(change.returning(User.balance)).scalar_one_or_none() is None:
        raise InsufficientFunds(f"balance of user {user_id} does not cover {amount}")
    db.session.expire(user, ["balance"])
    return db.session.get(Transaction, inserted)


def _balance_plus(amount):
    # A legacy balance may be NULL: it holds nothing, so it moves like 0 (NULL + x stays NULL).
    return func.coalesce(User.balance, 0) + amount


def balance_of(user_id: int) -> Decimal:
    """The balance, a legacy NULL read as 0."""
    return db.session.execute(select(func.coalesce(User.balance, 0)).where(User.id == user_id)).scalar_one()


def as_json_number(amount: Decimal | None) -> int | float:
    """Legacy clients expect plain numbers: whole amounts as integers."""
    amount = amount or Decimal(0)
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def confirm_pending_credit(transaction_id: int, *, also_from: tuple[str, ...] = ()) -> Transaction | None:
    """Book a waiting credit (a PENDING top-up row) into the balance: the row itself becomes CONFIRMED.

    One conditional UPDATE decides, so across concurrent callers exactly one gets the row back and
    moves the balance; everyone else gets None. `also_from` admits other statuses (a staff decision
    to credit a closed invoice). The caller owns the transaction, as everywhere here.
    """
    allowed = (TransactionStatus.PENDING, *also_from)
    booked = db.session.execute(
        update(Transaction)
        .where(Transaction.id == transaction_id, Transaction.status.in_(allowed), Transaction.amount > 0,
               Transaction.user_id.is_not(None))
        .values(status=TransactionStatus.CONFIRMED, date=legacy_date(), created_at=func.now())
        .returning(Transaction.user_id, Transaction.amount)
    ).first()
    if booked is None:
        return None
    user_id, amount = booked
    db.session.execute(update(User).where(User.id == user_id).values(balance=_balance_plus(amount)))
    row = db.session.get(Transaction, transaction_id)
    db.session.refresh(row)
    user = db.session.get(User, user_id)
    if user is not None:
        db.session.expire(user, ["balance"])
    return row


def close_pending(transaction_id: int, reason: str | None = None) -> bool:
    """A waiting credit that will never be paid: PENDING → CANCELED (it never counted). False if not pending.

    A `reason` is appended to the row's description, where staff read the ledger.
    """
    values = {"status": TransactionStatus.CANCELED}
    if reason:
        values["discription"] = func.concat_ws(" — ", Transaction.discription, f"closed unpaid: {reason}")
    return db.session.execute(
        update(Transaction).where(Transaction.id == transaction_id, Transaction.status == TransactionStatus.PENDING)
        .values(**values)
    ).rowcount == 1
