"""The customer's page: the Telegram link, its reachability, the notices sent (never their text), staff unlink."""
from datetime import datetime, timezone

from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, TelegramChat, TelegramMessage, User
from tests.console.conftest import HTMX
from tests.console.test_users import section
from tests.support.factories import make_user

TG = 5550042
SECRET_TEXT = "root password: Zq8-very-secret"


def _linked_customer(blocked: bool = False, mail: str | None = "tg@example.com") -> User:
    user = make_user(mail, tg_id=TG, tg_username="tg_customer")
    user.mail = mail
    chat = TelegramChat(chat_id=TG, username="tg_customer", language="en", notify="both",
                        linked_at=datetime(2025, 3, 4, 5, 6, tzinfo=timezone.utc))
    if blocked:
        chat.blocked_at, chat.blocked_reason = datetime(2025, 4, 1, tzinfo=timezone.utc), "Forbidden: bot was blocked by the user"
    db.session.add(chat)
    db.session.flush()
    db.session.add_all([
        TelegramMessage(chat_id=TG, user_id=user.id, kind="server_ready", text=SECRET_TEXT, secret=False,
                        state="sent", sent_at=datetime.now(timezone.utc), attempts=1),
        TelegramMessage(chat_id=TG, user_id=user.id, kind="lifecycle_reminder", text="expires soon",
                        state="undelivered", last_error="the chat is unreachable"),
        TelegramMessage(chat_id=TG, user_id=user.id, kind="reply", text="your balance is 5", state="sent"),
    ])
    db.session.commit()
    return user


def test_the_page_shows_the_link_reachability_and_notices_but_no_text(app, client, as_role):
    as_role("support")
    user = _linked_customer(blocked=True)
    panel = section(client.get(f"/console/users/{user.id}").get_data(as_text=True), "h-telegram")
    assert "@tg_customer" in panel and str(TG) in panel and "2025-03-04 05:06" in panel
    assert "blocked" in panel and "bot was blocked by the user" in panel
    assert "server_ready" in panel and "lifecycle_reminder" in panel and "undelivered" in panel
    assert "bot replies: 1" in panel and ">reply<" not in panel
    assert SECRET_TEXT not in panel and "expires soon" not in panel and "your balance" not in panel
    assert "Unlink Telegram" not in panel  # support sees, an admin acts
    assert client.post(f"/console/users/{user.id}/telegram/unlink", headers=HTMX).status_code == 403
    assert db.session.get(User, user.id).tg_id == TG


def test_a_reachable_link_and_an_unlinked_customer(app, client, as_role):
    as_role("support")
    user = _linked_customer()
    assert "reachable" in section(client.get(f"/console/users/{user.id}").get_data(as_text=True), "h-telegram")
    other = make_user("plain@example.com")
    panel = section(client.get(f"/console/users/{other.id}").get_data(as_text=True), "h-telegram")
    assert "Not linked to Telegram" in panel and "No notices over Telegram" in panel


def test_an_admin_unlinks_with_csrf_audited_once(app, client, as_role):
    staff = as_role("admin")
    user = _linked_customer(mail=None)  # even a customer without mail: staff can
    page = client.get(f"/console/users/{user.id}").get_data(as_text=True)
    assert f'action="/console/users/{user.id}/telegram/unlink"' in section(page, "h-telegram")
    client.send_csrf = False
    assert client.post(f"/console/users/{user.id}/telegram/unlink", headers=HTMX).status_code == 400
    client.send_csrf = True
    db.session.expire_all()
    assert db.session.get(User, user.id).tg_id == TG
    answer = client.post(f"/console/users/{user.id}/telegram/unlink", headers=HTMX)
    assert answer.status_code == 200 and "Not linked to Telegram" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).tg_id is None
    assert db.session.get(TelegramChat, TG).linked_at is None
    assert client.post(f"/console/users/{user.id}/telegram/unlink", headers=HTMX).status_code == 409
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "telegram.unlinked")).all()
    assert [(e.staff_id, e.target_id, e.before["tg_id"]) for e in events] == [(staff.id, str(user.id), TG)]
    plain = client.post(f"/console/users/{user.id}/telegram/unlink")  # without htmx: redirected back
    assert plain.status_code == 303
