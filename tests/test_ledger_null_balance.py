"""move_money on a legacy NULL balance: it holds nothing, so it moves like 0 (the global ledger check runs after)."""
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from oxnack_admin.extensions import db
from oxnack_admin.models import Transaction, User
from oxnack_admin.models.enums import TransactionStatus, TransactionType
from oxnack_admin.services.money import ledger
from tests.support.factories import make_user


@pytest.fixture
def null_balance_user(app):
    user = make_user("legacy-null@example.com")
    db.session.execute(update(User).where(User.id == user.id).values(balance=None))
    db.session.commit()
    assert db.session.scalar(select(User.balance).where(User.id == user.id)) is None
    return user.id


def test_credit_on_a_null_balance(null_balance_user):
    row = ledger.move_money(null_balance_user, 150, TransactionType.TOP_UP, "top-up")
    db.session.commit()
    assert row.amount == Decimal(150) and ledger.balance_of(null_balance_user) == Decimal(150)


def test_a_confirmed_top_up_credits_a_null_balance(null_balance_user):
    # A legacy customer's first top-up: the waiting row is booked into a balance that was NULL.
    waiting = Transaction(user_id=null_balance_user, type=TransactionType.TOP_UP, amount=Decimal(300),
                          status=TransactionStatus.PENDING)
    db.session.add(waiting)
    db.session.commit()
    assert ledger.confirm_pending_credit(waiting.id) is not None
    db.session.commit()
    assert ledger.balance_of(null_balance_user) == Decimal(300)
    assert db.session.scalar(select(User.balance).where(User.id == null_balance_user)) == Decimal(300)


def test_refund_on_a_null_balance_happens_once(null_balance_user):
    for _ in range(2):
        ledger.move_money(null_balance_user, Decimal("42.50"), TransactionType.REFUND, "provisioning failed",
                          idempotency_key="refund:run:1")
        db.session.commit()
    assert ledger.balance_of(null_balance_user) == Decimal("42.50")
    assert db.session.scalar(select(db.func.count()).select_from(Transaction)
                             .where(Transaction.user_id == null_balance_user)) == 1


def test_debit_on_a_null_balance_is_refused_then_works_once_funded(null_balance_user):
    with pytest.raises(ledger.InsufficientFunds):
        ledger.move_money(null_balance_user, -10, TransactionType.ORDER, "server 1")
    db.session.rollback()
    assert db.session.scalar(select(User.balance).where(User.id == null_balance_user)) is None
    ledger.move_money(null_balance_user, 30, TransactionType.TOP_UP, "top-up")
    ledger.move_money(null_balance_user, -30, TransactionType.ORDER, "server 1")
    db.session.commit()
    assert ledger.balance_of(null_balance_user) == 0


def test_allowed_negative_debit_on_a_null_balance(null_balance_user):
    ledger.move_money(null_balance_user, -5, TransactionType.ADJUSTMENT, "staff correction", allow_negative=True)
    db.session.commit()
    assert ledger.balance_of(null_balance_user) == Decimal(-5)



def test_the_invariant_check_sees_a_balance_without_its_ledger_row(app, null_balance_user):
    from tests.support.ledger import ledger_mismatches
    funded = make_user("funded@example.com", balance=20)
    db.session.add(Transaction(user_id=funded.id, type=TransactionType.TOP_UP, amount=50, status="PENDING"))
    db.session.commit()
    with db.engine.connect() as connection:
        assert ledger_mismatches(connection) == []  # NULL reads as 0; a PENDING row does not count
    db.session.execute(update(User).where(User.id == funded.id).values(balance=User.balance + 1))
    db.session.commit()
    with db.engine.connect() as connection:
        assert [(m.id, m.balance, m.ledger) for m in ledger_mismatches(connection)] == [(funded.id, 21, 20)]
    db.session.execute(update(User).where(User.id == funded.id).values(balance=User.balance - 1))
    db.session.commit()
