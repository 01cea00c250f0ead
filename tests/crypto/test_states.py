"""The state of a crypto invoice as GET /crypto_invoice answers it: waiting, paid, partially_paid, expired."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from oxnack_admin.extensions import db
from oxnack_admin.models import CryptoInvoice
from tests.crypto.conftest import credits_of, watch


def state_of(client, invoice_id: int) -> tuple[str, str, str]:
    answer = client.get(f"/crypto_invoice?invoice_id={invoice_id}").json
    return answer["state"], answer["received_asset"], answer["credited"]


def move_expiry(invoice_id: int, **times: datetime) -> None:
    """Set the invoice's expires_at / watch_until (the wall clock cannot be moved; the invoice can)."""
    db.session.query(CryptoInvoice).filter_by(id=invoice_id).update(times)
    db.session.commit()


def ago(**delta) -> datetime:
    return datetime.now(timezone.utc) - timedelta(**delta)


def test_waiting_then_expired_then_a_full_payment_inside_the_watch_makes_it_paid(chain, open_crypto, customer, client):
    invoice = open_crypto(925, "USDT")
    assert state_of(client, invoice.id) == ("waiting", "0", "0.00")
    move_expiry(invoice.id, expires_at=ago(minutes=1))
    assert state_of(client, invoice.id) == ("expired", "0", "0.00")
    chain.pay_usdt(invoice.address, "10")  # after the quote's window, inside CRYPTO_WATCH_HOURS
    chain.mine(2)
    watch()
    assert state_of(client, invoice.id) == ("paid", "10", "925.00")


def test_a_partial_payment_stays_partially_paid_after_expiry(chain, open_crypto, customer, client):
    invoice = open_crypto(925, "USDT")
    chain.pay_usdt(invoice.address, "2.5")
    chain.mine(2)
    watch()
    assert state_of(client, invoice.id) == ("partially_paid", "2.5", "231.25")
    move_expiry(invoice.id, expires_at=ago(minutes=1))
    assert state_of(client, invoice.id) == ("partially_paid", "2.5", "231.25")


def test_a_payment_after_the_watch_is_not_received_nor_paid(chain, open_crypto, customer, client):
    """What arrives after CRYPTO_WATCH_HOURS is recorded for staff but never credited: the customer is not told paid."""
    invoice = open_crypto(925, "USDT")
    chain.mine(1, timestamp=int((invoice.watch_until + timedelta(minutes=1)).timestamp()))
    chain.pay_usdt(invoice.address, "10")
    chain.mine(2)
    watch()
    (transfer,) = db.session.get(CryptoInvoice, invoice.id).transfers
    assert credits_of(customer.id) == [] and "after the invoice's watch" in transfer.note
    move_expiry(invoice.id, expires_at=ago(hours=25), watch_until=ago(hours=1))  # the wall clock catches up
    assert state_of(client, invoice.id) == ("expired", "0", "0.00")
    assert db.session.get(CryptoInvoice, invoice.id).received_asset == Decimal(0)
