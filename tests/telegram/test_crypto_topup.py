"""/topup in USDT or BNB through services/crypto (as POST /create_crypto_invoice) on the loopback BSC node."""
from decimal import Decimal

from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import CryptoInvoice
from oxnack_admin.services.crypto import invoices as crypto_invoices
from tests.crypto.conftest import balance_of, watch
from tests.support.config import config_overrides
from tests.support.factories import make_user
from tests.telegram.test_bot import TG, _callback_data_fits, _legacy_customer


def test_a_usdt_top_up_shows_address_and_amount_and_its_state_on_refresh(deliver, telegram, chain, work):
    user = _legacy_customer(balance=0)
    deliver(telegram.user_message(TG, "/topup"))
    assert {"500 ₽", "USDT (BEP-20)", "BNB"} <= set(telegram.buttons(telegram.last_message(TG)))
    deliver(telegram.press(TG, "USDT (BEP-20)"))
    assert "Top up in USDT" in telegram.last_message(TG)["text"]
    deliver(telegram.user_message(TG, "925"))
    invoice = db.session.scalar(select(CryptoInvoice).where(CryptoInvoice.user_id == user.id))
    assert (invoice.asset, invoice.amount_asset, invoice.amount_rub) == ("USDT", Decimal(10), Decimal(925))
    card = telegram.last_message(TG)
    assert f"Send exactly <code>10</code> USDT (BEP-20) to\n<code>{invoice.address}</code>" in card["text"]
    assert set(telegram.buttons(card)) == {"Refresh"}

    deliver(telegram.press(TG, "Refresh", message=card))
    assert telegram.last_message(TG)["text"] == f"Invoice №{invoice.id}: waiting for 10 USDT; nothing confirmed yet."
    chain.pay_usdt(invoice.address, "4")
    chain.mine(3)
    watch()
    deliver(telegram.press(TG, "Refresh", message=card))
    assert "4 of 10 USDT received" in telegram.last_message(TG)["text"]
    chain.pay_usdt(invoice.address, "6")
    chain.mine(3)
    watch()
    deliver(telegram.press(TG, "Refresh", message=card))
    assert telegram.last_message(TG)["text"] == f"Invoice №{invoice.id} is paid: 925.00 ₽ credited."
    assert balance_of(user.id) == Decimal(925)
    work()
    assert any(m["text"].startswith("Top-up credited") for m in telegram.messages(TG))
    assert telegram.unanswered_callbacks() == []
    _callback_data_fits(telegram)


def test_a_bnb_amount_button_and_someone_elses_invoice(deliver, telegram, chain):
    _legacy_customer(balance=0)
    deliver(telegram.user_message(TG, "/topup"))
    deliver(telegram.press(TG, "BNB"))
    deliver(telegram.press(TG, "1000 ₽"))
    assert "BNB (BNB Smart Chain)" in telegram.last_message(TG)["text"]
    other = make_user("other@example.com")
    foreign = crypto_invoices.open_invoice(other.id, 610, "BNB")
    deliver(telegram.user_press(TG, telegram.last_message(TG), f"t:r:{foreign.id}"))
    assert "out of date" in telegram.last_message(TG)["text"] and foreign.address not in telegram.last_message(TG)["text"]
    deliver(telegram.user_message(TG, "/topup"))
    deliver(telegram.press(TG, "USDT (BEP-20)"))
    deliver(telegram.user_message(TG, "5"))
    assert "whole roubles" in telegram.last_message(TG)["text"]


def test_without_crypto_only_the_card_is_offered_and_an_old_crypto_button_says_so(deliver, telegram, chain, app):
    user = _legacy_customer(balance=0)
    deliver(telegram.user_message(TG, "/topup"))
    old = telegram.last_message(TG)
    with config_overrides(app, CRYPTO_RPC_URL=""):
        deliver(telegram.user_message(TG, "/topup"))
        assert "USDT (BEP-20)" not in telegram.buttons(telegram.last_message(TG))
        deliver(telegram.press(TG, "USDT (BEP-20)", message=old))
        assert "Crypto top-ups are unavailable" in telegram.last_message(TG)["text"]
    chain.go_down()
    deliver(telegram.press(TG, "USDT (BEP-20)", message=old))
    deliver(telegram.user_message(TG, "925"))
    assert "Crypto top-ups are unavailable" in telegram.last_message(TG)["text"]
    assert db.session.scalar(select(CryptoInvoice).where(CryptoInvoice.user_id == user.id)) is None
    assert telegram.unanswered_callbacks() == []
