"""Rates inside and after the quote's window; partial, larger and late payments; the referral share once."""
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import CryptoInvoice, Transaction
from oxnack_admin.models.enums import TransactionType
from tests.crypto.conftest import balance_of, credits_of, watch
from tests.support.factories import make_user


def at(moment) -> int:
    return int(moment.timestamp())


def test_inside_the_window_the_quoted_rate_after_it_the_current_one_rounded_down(chain, open_crypto, customer):
    invoice = open_crypto(1000, "USDT")  # 10.810811 USDT at 92.5 (rounded up)
    assert invoice.amount_asset == Decimal("10.810811")
    chain.rates["USDT"] = 80.123  # the market moves; the quote holds for CRYPTO_RATE_MINUTES
    chain.pay_usdt(invoice.address, "5.555555")
    chain.mine(2)
    watch()
    chain.mine(1, timestamp=at(invoice.expires_at + timedelta(minutes=1)))
    chain.pay_usdt(invoice.address, "5.255256")  # mined after the window: the current rate
    chain.mine(2)
    watch()
    # 5.555555 * 92.5 = 513.8888375 -> 513.88; 5.255256 * 80.123 = 421.06687... -> 421.06
    assert credits_of(customer.id) == [Decimal("513.88"), Decimal("421.06")]
    rates = [t.rate for t in db.session.get(CryptoInvoice, invoice.id).transfers]
    assert rates == [Decimal("92.5"), Decimal("80.123")]


def test_after_the_window_with_the_rate_source_down_it_waits_and_loses_nothing(chain, open_crypto, customer):
    invoice = open_crypto(925, "USDT")
    chain.mine(1, timestamp=at(invoice.expires_at + timedelta(minutes=1)))
    chain.pay_usdt(invoice.address, "10")
    chain.mine(2)
    chain.rates_down = True
    watch()
    assert credits_of(customer.id) == []
    chain.rates_down = False
    chain.rates["USDT"] = 90
    watch()
    assert credits_of(customer.id) == [Decimal("900.00")]


def test_partial_then_larger_payment_credits_what_arrived(chain, open_crypto, customer, client):
    invoice = open_crypto(925, "USDT")
    chain.pay_usdt(invoice.address, "4")
    chain.mine(2)
    watch()
    answer = client.get(f"/crypto_invoice?invoice_id={invoice.id}").json
    assert (answer["state"], answer["received_asset"], answer["credited"]) == ("partially_paid", "4", "370.00")
    chain.pay_usdt(invoice.address, "16")  # 20 in all: twice the quote
    chain.mine(2)
    watch()
    answer = client.get(f"/crypto_invoice?invoice_id={invoice.id}").json
    assert (answer["state"], answer["received_asset"], answer["credited"]) == ("paid", "20", "1850.00")
    assert balance_of(customer.id) == Decimal("1850.00")


def test_late_payment_inside_the_watch_is_credited_and_after_it_is_not(chain, open_crypto, customer, client):
    invoice = open_crypto(925, "USDT")
    chain.mine(1, timestamp=at(invoice.expires_at + timedelta(hours=2)))
    chain.pay_usdt(invoice.address, "10")  # late, inside CRYPTO_WATCH_HOURS: paid at the current rate
    chain.mine(2)
    watch()
    assert client.get(f"/crypto_invoice?invoice_id={invoice.id}").json["state"] == "paid"
    chain.mine(1, timestamp=at(invoice.watch_until + timedelta(minutes=1)))
    chain.pay_usdt(invoice.address, "3")  # after the watch: recorded for staff, never credited
    chain.mine(2)
    watch()
    assert credits_of(customer.id) == [Decimal("925.00")]
    other = open_crypto(925, "USDT")
    assert client.get(f"/crypto_invoice?invoice_id={other.id}").json["state"] == "waiting"


def test_the_referral_share_is_paid_once_per_credit(chain, open_crypto, customer):
    referrer = make_user("ref@example.com", tg_id=4242)
    payer = db.session.get(type(customer), customer.id)
    payer.ref_id = 4242
    db.session.commit()
    chain.set_config(REF_SHARE=0.1)
    invoice = open_crypto(925, "USDT")
    chain.pay_usdt(invoice.address, "10")
    chain.mine(2)
    for _ in range(3):
        watch()
    shares = db.session.scalars(select(Transaction.amount).where(
        Transaction.user_id == referrer.id, Transaction.type == TransactionType.REFERRAL)).all()
    assert shares == [Decimal("92.50")]


def test_paying_exactly_the_quote_credits_at_least_the_amount_whatever_the_rate_s_digits(chain, open_crypto, customer):
    """The rate is kept to 8 places: the quote must be computed from that rate, or the exact payment credits less."""
    chain.rates["USDT"] = 95.300931572351  # a rate source computing USDT from USD × USD/RUB gives such digits
    invoice = open_crypto(51599, "USDT")
    assert invoice.rate == Decimal("95.30093157")
    assert invoice.amount_asset == Decimal("541.432274")  # 51599 / 95.30093157 = 541.43227301... rounded up
    chain.pay_usdt(invoice.address, invoice.amount_asset)
    chain.mine(2)
    watch()
    assert credits_of(customer.id) == [Decimal("51599.00")]
