"""The bot's remaining flows over the webhook and the simulator: a Platega top-up, a proxy bought
with Confirm pressed twice, linking an account by the mailed code (wrong codes, too many tries, expiry).
"""
import re
from decimal import Decimal

from sqlalchemy import select

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import Invoice, MailMessage, ProxyOrder, TelegramChat, Transaction, User
from oxnack_admin.models.enums import TransactionType
from oxnack_admin.services.accounts import codes
from oxnack_admin.services.telegram.chats import LINK_CODES
from tests.proxies.conftest import PRICE_RUB
from tests.support.factories import make_user
from tests.telegram.test_bot import TG, _callback_data_fits, _legacy_customer


def _texts(telegram) -> list[str]:
    return [message["text"] for message in telegram.messages(TG)]


def test_a_telegram_only_customer_tops_up_through_platega_and_is_told_when_credited(deliver, telegram, platega):
    user = _legacy_customer(balance=0)
    deliver(telegram.user_message(TG, "/topup"))
    ask = telegram.last_message(TG)
    assert "500 ₽" in telegram.buttons(ask)
    deliver(telegram.press(TG, "500 ₽", message=ask))
    invoice = db.session.scalar(select(Invoice).where(Invoice.user_id == user.id))
    assert invoice is not None and Decimal(invoice.amount) == Decimal(500)
    link = telegram.last_message(TG)["text"]
    assert f"{platega.url}" in link and invoice.gateway_id in link
    assert platega.transaction(invoice.gateway_id)["paymentDetails"]["amount"] == 500
    deliver(telegram.press(TG, "500 ₽", message=ask))  # an old amount button: a second invoice, never a credit
    platega.confirm(invoice.gateway_id)  # the payer paid: Platega calls the live app back
    db.session.expire_all()
    assert Decimal(db.session.get(User, user.id).balance) == Decimal(500)
    deliver(telegram.user_message(TG, "/balance"))
    texts = _texts(telegram)
    assert any(text.startswith("Top-up credited: 500") for text in texts)
    assert "Balance: <b>500 ₽</b>" in texts[-1]
    assert telegram.unanswered_callbacks() == []


def test_a_typed_top_up_amount_out_of_range_is_refused_without_an_invoice(deliver, telegram, platega):
    user = _legacy_customer(balance=0)
    deliver(telegram.user_message(TG, "/topup"))
    deliver(telegram.user_message(TG, "3"))
    assert "whole roubles" in telegram.last_message(TG)["text"]
    assert db.session.scalar(select(Invoice).where(Invoice.user_id == user.id)) is None


def test_a_proxy_bought_with_confirm_pressed_twice_is_charged_once(deliver, telegram, stock, work):
    user = _legacy_customer(balance=1000)
    product = stock(2, "DE")[0]
    deliver(telegram.user_message(TG, "/proxies DE"))
    deliver(telegram.press(TG, "All"))
    deliver(telegram.press(TG, f"Buy №{product.id}"))
    confirm = telegram.last_message(TG)
    assert f"{PRICE_RUB.normalize():f}" in confirm["text"] or "180" in confirm["text"]
    deliver(telegram.press(TG, "Confirm", message=confirm))
    deliver(telegram.press(TG, "Confirm", message=confirm))
    orders = db.session.scalars(select(ProxyOrder).where(ProxyOrder.user_id == user.id)).all()
    assert len(orders) == 1 and orders[0].state == "active"
    sales = db.session.scalars(select(Transaction).where(Transaction.user_id == user.id,
                                                         Transaction.amount < 0)).all()
    assert len(sales) == 1 and -sales[0].amount == PRICE_RUB
    db.session.expire_all()
    assert Decimal(db.session.get(User, user.id).balance) == Decimal(1000) - PRICE_RUB
    work()
    texts = _texts(telegram)
    # One message with the credentials: no separate "proxy bought" notice to the chat that was just answered.
    assert len([text for text in texts if orders[0].login in text and f"order №{orders[0].id}" in text]) == 1
    assert not [text for text in texts if f"Proxy order №{orders[0].id} is active" in text]
    assert "already bought" in texts[-1]
    assert telegram.unanswered_callbacks() == []
    _callback_data_fits(telegram)


def _mailed_code(server, address: str) -> str:
    """The code in the last mail the SMTP server took for `address` (the stored body is blanked once sent)."""
    mail = [m for m in server.messages if m["To"] == address][-1]
    return re.search(r"\b(\d{6})\b", mail.get_content()).group(1)


def _ask_code(deliver, telegram, address: str) -> None:
    deliver(telegram.user_message(TG, "/start", username="linker"))
    deliver(telegram.press(TG, "Link account", username="linker"))
    deliver(telegram.user_message(TG, address, username="linker"))
    assert f"mailed a 6-digit code to {address.strip()}" in telegram.last_message(TG)["text"]


def test_linking_an_account_by_the_mailed_code_after_a_wrong_one(deliver, telegram, smtp, app):
    user = make_user("link-me@example.com", balance=0)
    _ask_code(deliver, telegram, "LINK-ME@example.com ")
    code = _mailed_code(smtp, "link-me@example.com")
    ttl = redis_client.ttl(codes.code_key(LINK_CODES, f"{user.id}:{TG}"))
    assert 0 < ttl <= app.config["CODE_TTL_SECONDS"]  # it expires
    wrong = "000000" if code != "000000" else "111111"
    deliver(telegram.user_message(TG, wrong, username="linker"))
    assert telegram.last_message(TG)["text"] == "Wrong code. Try again."
    assert db.session.get(User, user.id).tg_id is None
    deliver(telegram.user_message(TG, code, username="linker"))
    db.session.expire_all()
    linked = db.session.get(User, user.id)
    assert (linked.tg_id, linked.tg_username) == (TG, "linker")
    assert db.session.get(TelegramChat, TG).linked_at is not None
    assert "Done: this Telegram is linked" in _texts(telegram)[-2] and "Hello, <b>linker</b>" in _texts(telegram)[-1]
    deliver(telegram.user_message(TG, code, username="linker"))  # the code again, outside the dialogue
    assert db.session.get(User, user.id).tg_id == TG


def test_too_many_wrong_codes_or_an_expired_code_link_nothing(deliver, telegram, smtp, app):
    user = make_user("guess@example.com", balance=0)
    _ask_code(deliver, telegram, "guess@example.com")
    code = _mailed_code(smtp, "guess@example.com")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(app.config["CODE_MAX_TRIES"] - 1):
        deliver(telegram.user_message(TG, wrong, username="linker"))
        assert telegram.last_message(TG)["text"] == "Wrong code. Try again."
    deliver(telegram.user_message(TG, wrong, username="linker"))  # the last allowed try ends the code
    assert "tried too often" in telegram.last_message(TG)["text"]
    deliver(telegram.user_message(TG, code, username="linker"))  # the right one, too late; the dialogue ended
    assert db.session.get(User, user.id).tg_id is None

    _ask_code(deliver, telegram, "guess@example.com")
    code = _mailed_code(smtp, "guess@example.com")
    redis_client.delete(codes.code_key(LINK_CODES, f"{user.id}:{TG}"))  # what its TTL does after 10 minutes
    deliver(telegram.user_message(TG, code, username="linker"))
    assert "expired" in telegram.last_message(TG)["text"]
    db.session.expire_all()
    assert db.session.get(User, user.id).tg_id is None


def test_an_unknown_or_taken_mail_is_refused(deliver, telegram):
    make_user("taken@example.com", tg_id=999001)
    deliver(telegram.user_message(TG, "/link"))
    deliver(telegram.user_message(TG, "nobody@example.com"))
    assert "No verified account has this e-mail" in telegram.last_message(TG)["text"]
    deliver(telegram.user_message(TG, "taken@example.com"))
    assert "already linked to another Telegram" in telegram.last_message(TG)["text"]
    assert db.session.scalar(select(MailMessage).where(MailMessage.kind == "telegram_link_code")) is None
    assert TransactionType.TOP_UP  # the ledger is untouched (checked after every test)
