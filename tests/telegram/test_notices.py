"""Notices per /notify: mail unchanged for those with mail, Telegram for linked customers, a root password only
to a customer without mail, deleted from the chat when due."""
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import MailMessage, TelegramChat, TelegramMessage
from oxnack_admin.services import notices
from tests.support.factories import make_user

TG = 7770001


def test_a_linked_customer_gets_the_notice_by_mail_and_telegram(app, telegram, work):
    user = make_user("linked@example.com", tg_id=TG)
    notices.notify(user, "top_up_received", amount="100 ₽", balance="100 ₽")
    db.session.commit()
    work()
    assert db.session.scalar(select(MailMessage.kind)) == "top_up_received"
    [call] = telegram.api_calls("sendMessage")
    assert call.body["chat_id"] == TG and "100 ₽" in call.body["text"]


def test_telegram_only_per_notify_sends_no_mail(app, telegram, work):
    user = make_user("linked@example.com", tg_id=TG)
    db.session.add(TelegramChat(chat_id=TG, notify="telegram", language="en"))
    db.session.commit()
    notices.notify(user, "lifecycle_renewed", server_id=5, ip="", date_stop="01.01.2027", price=10, resumed=False)
    db.session.commit()
    work()
    assert db.session.scalar(select(MailMessage.id)) is None
    assert "renewed until 01.01.2027" in telegram.api_calls("sendMessage")[0].body["text"]


def test_a_root_password_goes_to_telegram_only_without_mail_and_is_deleted_when_due(app, telegram, work):
    with_mail = make_user("m@example.com", tg_id=TG)
    notices.notify(with_mail, "server_ready", password="Pw-1", server_id=1, cores=1, ram=1, hdd=15, os="u", ip="1.2.3.4")
    db.session.commit()
    work()
    assert "Pw-1" not in telegram.api_calls("sendMessage")[0].body["text"]
    without = make_user(tg_id=TG + 1)
    without.mail = None
    db.session.commit()
    notices.notify(without, "server_ready", password="Pw-2", server_id=2, ip="1.2.3.5")
    db.session.commit()
    work()
    call = telegram.api_calls("sendMessage")[-1]
    assert call.body["chat_id"] == TG + 1 and "Pw-2" in call.body["text"]
    row = db.session.scalar(select(TelegramMessage).where(TelegramMessage.chat_id == TG + 1))
    assert "Pw-2" not in row.text and row.delete_after is not None
