"""Opting out (/stop, the mail's link) ends newsletters, never service notices; the old bot's data.csv comes in."""
import re

from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import MailMessage, NewsletterRecipient, TelegramChat, TelegramMessage, User
from oxnack_admin.models.enums import RecipientState
from oxnack_admin.services import notices
from oxnack_admin.services.support import audience, newsletters, sending, subscribers
from tests.inbox.helpers import make_customers
from tests.support.factories import make_staff, make_user

TG = 7_500_000


def test_stop_in_the_bot_ends_newsletters_but_not_service_notices(app, deliver, telegram, work):
    [customer] = make_customers(1, TG)
    other = make_customers(1, TG + 1)[0]
    deliver(telegram.user_message(TG, "/stop"))
    assert "no more newsletters" in telegram.last_message(TG)["text"]
    assert {t.address for t in audience.targets("telegram", None, "telegram")} == {str(TG + 1)}

    staff = make_staff("admin")
    newsletter = newsletters.create(staff, "News", "<i>hello</i>", "all", None, "both")
    newsletters.start(newsletter, staff)
    subscribers.set_newsletters(None, other, False)  # the other one opts out after the start, before their turn
    sending.send_slice(newsletter.id)
    states = {(r.channel, r.address): r.state for r in db.session.scalars(select(NewsletterRecipient))}
    assert states == {("mail", other.mail): RecipientState.UNSUBSCRIBED,
                      ("telegram", str(TG + 1)): RecipientState.UNSUBSCRIBED}
    assert telegram.api_calls("sendMessage")[-1].body["chat_id"] == TG  # nothing newsletter-ish went out

    customer = db.session.get(User, customer.id)
    notices.notify(customer, "top_up_received", amount="100 ₽", balance="100 ₽")  # a service notice still goes
    db.session.commit()
    work()
    assert telegram.last_message(TG)["text"].startswith("Top-up credited")
    deliver(telegram.user_message(TG, "/subscribe"))
    assert {t.address for t in audience.targets("telegram", None, "telegram")} == {str(TG)}


def test_the_mails_unsubscribe_link_is_signed_and_asks_before_it_acts(app, client, telegram):
    reader = make_user("reader@example.com")
    staff = make_staff("admin")
    newsletter = newsletters.create(staff, "Our news", "<b>Big</b> &amp; <a href=\"https://oxnack.example\">new</a>",
                                    "all", None, "mail")
    newsletters.start(newsletter, staff)
    sending.send_slice(newsletter.id)
    body = db.session.scalar(select(MailMessage.body).where(MailMessage.to_email == "reader@example.com",
                                                            MailMessage.kind == "newsletter"))
    assert body.startswith("Big & new (https://oxnack.example)")
    link = re.search(r"https?://\S+/newsletters/unsubscribe/(\S+)", body)
    path = f"/newsletters/unsubscribe/{link.group(1)}"
    assert client.get(path).status_code == 200
    assert db.session.get(User, reader.id).newsletters_off_at is None  # a mail scanner opening the link changes nothing
    assert client.get(path[:-2] + "xx").status_code == 404 and client.post(path[:-2] + "xx").status_code == 404
    assert client.post(path).status_code == 200
    db.session.expire_all()
    assert db.session.get(User, reader.id).newsletters_off_at is not None
    assert audience.count("all", None, "mail") == 0


def test_the_old_bots_csv_is_imported_with_its_quirks(app, runner, tmp_path, telegram):
    customer = make_user("old@example.com", tg_id=900002, tg_username="known")
    make_customers(1, 900100, telegram=True)
    data = tmp_path / "data.csv"
    data.write_text("900001,alice\n900002,\n900001,alice\n900003,@bob\n\nnot-a-number,x\n900004\n", encoding="utf-8")
    answer = runner.invoke(args=["import-telegram-subscribers", str(data)])
    assert answer.exit_code == 0, answer.output
    assert "3 new subscriber(s), 1 customer(s) matched by tg_id, 1 already known or repeated, 1 unreadable" \
        in answer.output
    with_header = tmp_path / "data_header.csv"
    with_header.write_text("\ufeffuser_id,username\n900005,eve\n900003,bob\n", encoding="utf-8")
    assert "1 new subscriber(s), 0 customer(s) matched by tg_id, 1 already known" in runner.invoke(args=["import-telegram-subscribers",
                                                                         str(with_header)]).output

    chats = {chat.chat_id: chat.username for chat in db.session.scalars(select(TelegramChat))}
    assert chats == {900001: "alice", 900003: "bob", 900004: None, 900005: "eve"}  # the customer's id needs no row
    everyone = {t.address for t in audience.targets("all", None, "telegram")}
    assert everyone == {"900001", "900002", "900003", "900004", "900005", "900100"}
    assert {t.address for t in audience.targets("telegram", None, "telegram")} == everyone
    assert audience.targets("active_server", None, "telegram") == []
    assert customer.id and db.session.scalar(select(TelegramMessage.id)) is None  # importing sends nothing
