"""The bot over the webhook and the simulator: who is who, servers, renewals, stale buttons, repeats."""
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import Transaction, User
from oxnack_admin.models.enums import TransactionType
from oxnack_admin.services.telegram import updates
from tests.support.factories import make_pool, make_server, make_user
from tests.telegram.conftest import SECRET

TG = 5550001


def _legacy_customer(balance=1000) -> User:
    """A customer of the old shop bot: a tg_id, no e-mail."""
    user = make_user(balance=balance, tg_id=TG, tg_username="olduser")
    user.mail = None
    db.session.commit()
    return user


def _server(user: User, vmid=301):
    return make_server(vmid, busy=True, username=user.username, lifecycle_state="active", cores=1, ram=1, hdd=15,
                       status="on", paid_until=datetime.now(timezone.utc) + timedelta(days=2),
                       rented_at=datetime.now(timezone.utc) - timedelta(days=28))


def _callback_data_fits(telegram) -> None:
    for call in telegram.api_calls("sendMessage"):
        for row in (call.body.get("reply_markup") or {}).get("inline_keyboard") or []:
            for button in row:
                assert len(button["callback_data"].encode()) <= 64


def test_the_webhook_needs_the_secret_and_never_answers_5xx(client, telegram):
    assert client.post("/telegram/webhook", json={"update_id": 1}).status_code == 401
    wrong = client.post("/telegram/webhook", json={"update_id": 1}, headers={"X-Telegram-Bot-Api-Secret-Token": "no"})
    assert (wrong.status_code, wrong.get_json()) == (401, {"ok": False})
    nested, too_big = b"[" * 50_000, b'{"update_id": 1, "x": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    for body in (b"not json", b"[1, 2]", b'{"update_id": "x"}', b"\xff\xfe", nested, too_big):
        answer = client.post("/telegram/webhook", data=body, content_type="application/json",
                             headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert (answer.status_code, answer.get_json()) == (200, {"ok": True})


def test_an_unknown_user_opens_a_new_account(deliver, telegram):
    deliver(telegram.user_message(TG, "/start", username="newbie"))
    welcome = telegram.last_message(TG)
    assert {"Link account", "New account"} <= set(telegram.buttons(welcome))
    deliver(telegram.press(TG, "New account", username="newbie"))
    user = db.session.scalar(select(User).where(User.tg_id == TG))
    assert user.mail is None and user.is_verified and user.username == format(user.id, "x")
    assert user.tg_username == "newbie"
    deliver(telegram.press(TG, "New account", message=welcome, username="newbie"))  # the old button again
    assert db.session.scalar(select(func.count()).select_from(User).where(User.tg_id == TG)) == 1
    assert telegram.unanswered_callbacks() == []
    _callback_data_fits(telegram)


def test_the_same_update_twice_and_concurrently_is_handled_once(app, client, telegram, work):
    update = telegram.user_message(TG, "/start")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    def post():
        with app.test_client() as own:
            assert own.post("/telegram/webhook", json=update, headers=headers).status_code == 200

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.post("/telegram/webhook", json=update, headers=headers)
    updates.accept(update)  # the poller delivering it too
    work()
    assert len(telegram.api_calls("sendMessage")) == 1


def test_a_telegram_only_legacy_customer_sees_and_renews_a_server_once_however_often_pressed(deliver, telegram):
    user = _legacy_customer(balance=1000)
    server = _server(user)
    deliver(telegram.user_message(TG, "/servers", username="renamed"))
    assert db.session.get(User, user.id).tg_username == "renamed"  # kept up to date
    card = telegram.last_message(TG)
    assert f"№{server.id}" in card["text"]
    assert {"Start", "Stop", "Restart", "Renew"} <= set(telegram.buttons(card))
    deliver(telegram.press(TG, "Renew", message=card))
    deliver(telegram.press(TG, "Renew", message=card))
    renewals = db.session.scalars(select(Transaction).where(Transaction.user_id == user.id,
                                                            Transaction.type == TransactionType.RENEWAL)).all()
    assert len(renewals) == 1
    texts = [message["text"] for message in telegram.messages(TG)]
    assert any("renewed until" in text for text in texts) and any("already renewed" in text for text in texts)
    assert telegram.unanswered_callbacks() == []


def test_a_stale_button_of_a_server_no_longer_theirs_answers_clearly(deliver, telegram):
    user = _legacy_customer()
    server = _server(user)
    deliver(telegram.user_message(TG, "/servers"))
    card = telegram.last_message(TG)
    server.username, server.busy = "someone-else", False
    db.session.commit()
    deliver(telegram.press(TG, "Stop", message=card))
    assert "out of date" in telegram.last_message(TG)["text"]
    assert telegram.unanswered_callbacks() == []


def test_customers_words_are_escaped(deliver, telegram):
    user = _legacy_customer()
    user.tg_username = None
    db.session.commit()
    deliver(telegram.user_message(TG, "/start", username="<b>x&y</b>"))
    assert "&lt;b&gt;x&amp;y&lt;/b&gt;" in telegram.last_message(TG)["text"]
    assert Decimal(user.balance) == Decimal(1000)


def test_a_telegram_only_customer_orders_a_server_with_the_price_shown_first(deliver, telegram, app):
    user = _legacy_customer(balance=5000)
    make_pool(1, "ubuntu")
    deliver(telegram.user_message(TG, "/order"))
    deliver(telegram.press(TG, "ubuntu"))
    for _ in range(3):  # cores, RAM, disk: the smallest
        message = telegram.last_message(TG)
        deliver(telegram.press(TG, next(iter(telegram.buttons(message)))))
    deliver(telegram.press(TG, "No promo code"))
    summary = telegram.last_message(TG)
    assert "Price:" in summary["text"] and {"Confirm", "Cancel"} <= set(telegram.buttons(summary))
    deliver(telegram.press(TG, "Confirm", message=summary))
    deliver(telegram.press(TG, "Confirm", message=summary))  # a double press
    orders = db.session.scalars(select(Transaction).where(Transaction.user_id == user.id,
                                                          Transaction.type == TransactionType.ORDER)).all()
    assert len(orders) == 1
    assert "already placed" in telegram.last_message(TG)["text"]
    assert telegram.unanswered_callbacks() == []
    _callback_data_fits(telegram)
