"""What one credit is: a BNB increase over what that address already brought, and the referral share of it."""
from decimal import Decimal

from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import Transaction, User
from oxnack_admin.models.enums import TransactionType
from tests.crypto.conftest import credits_of, watch
from tests.support.factories import make_user


def test_bnb_credits_the_increase_over_what_was_credited_and_a_drop_is_never_negative(chain, open_crypto, customer):
    invoice = open_crypto(610, "BNB")
    chain.send_bnb(invoice.address, "0.004")
    chain.mine(2)
    watch()
    chain.send_bnb(invoice.address, "-0.003")  # swept early (the README says: only after the watch)
    chain.mine(2)
    watch()
    assert credits_of(customer.id) == [Decimal("244.00")]  # 0.004 at 61000; the drop is no credit, no debit
    chain.send_bnb(invoice.address, "0.006")  # the balance is 0.007: 0.003 above what was credited
    chain.mine(2)
    watch()
    watch()
    assert credits_of(customer.id) == [Decimal("244.00"), Decimal("183.00")]


def test_the_referral_share_is_rounded_down_to_kopecks_once_per_credit(chain, open_crypto, customer):
    make_user("referrer@example.com", tg_id=777)
    db.session.get(User, customer.id).ref_id = 777
    db.session.commit()
    chain.set_config(REF_SHARE=0.07)
    invoice = open_crypto(1000, "USDT")
    chain.pay_usdt(invoice.address, "5.555555")  # 513.8888375 -> 513.88 credited
    chain.pay_usdt(invoice.address, "1.111111")  # 102.7777675 -> 102.77
    chain.mine(2)
    for _ in range(3):
        watch()
    assert credits_of(customer.id) == [Decimal("513.88"), Decimal("102.77")]
    shares = db.session.scalars(select(Transaction.amount).where(Transaction.type == TransactionType.REFERRAL)
                                .order_by(Transaction.id)).all()
    assert shares == [Decimal("35.97"), Decimal("7.19")]  # 35.9716 and 7.1939, each rounded down, each once
