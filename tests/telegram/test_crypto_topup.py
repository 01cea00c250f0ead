"""The bot's Top up offers USDT and BNB too: the same crypto invoice as POST /create_crypto_invoice, credited once."""
from decimal import Decimal

from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import CryptoInvoice, User
from tests.crypto.conftest import chain, watch  # noqa: F401  (the loopback BSC node)
from tests.support.factories import make_user

TG = 5550077


def _customer() -> User:
    return make_user(tg_id=TG, tg_username="payer")


def test_top_up_offers_usdt_and_bnb_and_a_press_opens_a_crypto_invoice(deliver, telegram, chain):  # noqa: F811
    user = _customer()
    deliver(telegram.user_message(TG, "/topup"))
    deliver(telegram.press(TG, "1000 ₽"))  # Platega is not configured here: the gateway is down, crypto is not
    offer = telegram.last_message(TG)
    assert "unavailable" in offer["text"] and set(telegram.buttons(offer)) == {"USDT (BEP-20)", "BNB"}
    deliver(telegram.press(TG, "USDT (BEP-20)", message=offer))
    invoice = db.session.scalar(select(CryptoInvoice).where(CryptoInvoice.user_id == user.id))
    assert (invoice.asset, invoice.amount_rub, invoice.amount_asset) == ("USDT", Decimal(1000), Decimal("10.810811"))
    text = telegram.last_message(TG)["text"]
    assert invoice.address in text and "10.810811 USDT" in text and "3 confirmations" in text
    deliver(telegram.press(TG, "USDT (BEP-20)", message=offer))  # pressed again: a second invoice, a new address
    addresses = db.session.scalars(select(CryptoInvoice.address).where(CryptoInvoice.user_id == user.id)).all()
    assert len(set(addresses)) == 2
    chain.pay_usdt(invoice.address, "10.810811")
    chain.mine(2)
    assert watch().credited == [Decimal("1000.00")]
    assert telegram.unanswered_callbacks() == []


def test_without_crypto_configured_no_asset_is_offered_and_an_old_button_answers_unavailable(deliver, telegram, chain):  # noqa: F811
    _customer()
    deliver(telegram.user_message(TG, "/topup"))
    deliver(telegram.press(TG, "1000 ₽"))
    offer = telegram.last_message(TG)
    chain.set_config(CRYPTO_RPC_URL="")
    deliver(telegram.user_message(TG, "/topup"))
    deliver(telegram.press(TG, "1000 ₽"))
    assert telegram.buttons(telegram.last_message(TG)) == {}
    deliver(telegram.press(TG, "BNB", message=offer))  # a button from when crypto was on
    assert "Crypto payments are unavailable" in telegram.last_message(TG)["text"]
    assert db.session.scalar(select(CryptoInvoice).limit(1)) is None
    assert telegram.unanswered_callbacks() == []
