"""Newsletters on the fake Bot API: the pace from its timestamps, 429 and 403 in the middle, roles, outcomes."""
import threading
from collections import defaultdict

import pytest
from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import MailMessage, Newsletter, NewsletterRecipient, TelegramChat
from oxnack_admin.models.enums import NewsletterState, RecipientState
from oxnack_admin.services.support import sending
from tests.console.conftest import HTMX
from tests.inbox.helpers import ScriptedTelegram, make_customers, most_in_one_second
from tests.support.config import config_overrides

RATE = 100
FIRST_TG = 7_100_000


@pytest.fixture
def scripted(app):
    """The simulator with a 429 (retry after 1 s) at the 120th send; the app talks to it."""
    simulator = ScriptedTelegram({120: (429, 1)}).start()
    with config_overrides(app, TELEGRAM_BOT_TOKEN=simulator.token, TELEGRAM_API_URL=simulator.url,
                          TELEGRAM_RETRY_INTERVALS=[0, 0], TELEGRAM_TIMEOUT=5, TELEGRAM_BROADCAST_RATE=RATE,
                          NEWSLETTER_SENDERS=3, MAIL_RETRY_INTERVALS=[0, 0], SMTP_HOST=""):
        yield simulator
    simulator.stop()


def _compose(client, **fields) -> int:
    form = {"title": "News", "body": "<b>New</b> locations &amp; prices", "audience": "all", "language": "",
            "channel": "telegram", **fields}
    answer = client.post("/console/newsletters", data=form, headers=HTMX)
    assert answer.status_code == 204, answer.text
    return int(answer.headers["HX-Redirect"].rstrip("/").rsplit("/", 1)[-1])


def _senders(app, newsletter_id: int, count: int) -> None:
    """Run `count` sender jobs side by side, as `count` workers would."""
    def run():
        with app.app_context():
            sending.send_slice(newsletter_id)
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _outcomes(newsletter_id: int) -> dict[str, int]:
    db.session.expire_all()
    return dict(db.session.execute(select(NewsletterRecipient.state, func.count()).where(
        NewsletterRecipient.newsletter_id == newsletter_id).group_by(NewsletterRecipient.state)).all())


def test_a_newsletter_keeps_the_pace_rides_a_429_and_records_403s(app, client, admin, scripted, work):
    make_customers(300, FIRST_TG)
    blocked = {FIRST_TG + 40, FIRST_TG + 210}
    for chat_id in blocked:
        scripted.block(chat_id)
    newsletter_id = _compose(client)
    assert client.post(f"/console/newsletters/{newsletter_id}/start", headers=HTMX).status_code == 200
    _senders(app, newsletter_id, 3)
    work()  # the queued sender jobs find nothing left

    calls = scripted.api_calls("sendMessage")
    assert most_in_one_second([call.at for call in calls]) <= RATE
    by_chat = defaultdict(list)
    for call in calls:
        by_chat[call.body["chat_id"]].append(call.at)
    for chat_id, times in by_chat.items():
        assert all(later - earlier >= 1.0 for earlier, later in zip(times, times[1:], strict=False)), chat_id
    [limited] = [chat for chat, times in by_chat.items() if len(times) == 2]  # the 429, then the same message again
    refused_at = by_chat[limited][0]
    # Everybody waited retry_after: only sends the two other senders already had under way may land meanwhile.
    assert len([call for call in calls if refused_at < call.at < refused_at + 1.0]) <= 2

    delivered = {chat_id for chat_id, messages in scripted.chats.items() if messages}
    assert delivered == {FIRST_TG + n for n in range(300)} - blocked
    assert all(len(messages) == 1 for messages in scripted.chats.values())
    assert _outcomes(newsletter_id) == {RecipientState.SENT: 298, RecipientState.BLOCKED: 2}
    assert db.session.get(Newsletter, newsletter_id).state == NewsletterState.DONE
    assert all(db.session.get(TelegramChat, chat_id).blocked_at is not None for chat_id in blocked)
    progress = client.get(f"/console/newsletters/{newsletter_id}/progress", headers=HTMX)
    assert "298" in progress.text and "hx-trigger" not in progress.text  # final: the page stops polling


def test_pause_resume_and_cancel(app, client, admin, scripted):
    make_customers(5, FIRST_TG)
    newsletter_id = _compose(client)
    client.post(f"/console/newsletters/{newsletter_id}/start", headers=HTMX)
    paused = client.post(f"/console/newsletters/{newsletter_id}/pause", headers=HTMX)
    assert paused.status_code == 200 and 'data-state="paused"' in paused.text and "every 1s" not in paused.text
    _senders(app, newsletter_id, 1)
    assert scripted.api_calls("sendMessage") == [] and _outcomes(newsletter_id) == {RecipientState.QUEUED: 5}
    resumed = client.post(f"/console/newsletters/{newsletter_id}/resume", headers=HTMX)
    assert "every 1s" in resumed.text  # sending: the progress polls itself
    client.post(f"/console/newsletters/{newsletter_id}/cancel", headers=HTMX)
    _senders(app, newsletter_id, 1)
    assert scripted.api_calls("sendMessage") == [] and _outcomes(newsletter_id) == {RecipientState.SKIPPED: 5}
    assert client.post(f"/console/newsletters/{newsletter_id}/resume", headers=HTMX).status_code == 409


def test_support_reads_newsletters_but_only_admins_send_them(client, as_role, scripted):
    make_customers(2, FIRST_TG)
    as_role("admin")
    newsletter_id = _compose(client)
    as_role("support")
    assert client.get(f"/console/newsletters/{newsletter_id}").status_code == 200
    for path in ("/console/newsletters", f"/console/newsletters/{newsletter_id}/start",
                 f"/console/newsletters/{newsletter_id}/test", "/console/newsletters/preview"):
        assert client.post(path, data={"title": "x", "body": "y"}, headers=HTMX).status_code == 403, path
    assert db.session.scalar(select(func.count()).select_from(NewsletterRecipient)) == 0


def test_the_html_is_checked_before_saving_and_the_preview_counts(client, admin, scripted):
    make_customers(3, FIRST_TG)
    make_customers(2, FIRST_TG + 100, telegram=False)
    refused = client.post("/console/newsletters", headers=HTMX, data={
        "title": "x", "body": "<div>hi</div> <b>open", "audience": "all", "channel": "telegram"})
    assert refused.status_code == 422 and "&lt;div&gt; is not in Telegram" in refused.text
    assert db.session.scalar(select(func.count()).select_from(Newsletter)) == 0
    preview = client.post("/console/newsletters/preview", headers=HTMX,
                          data={"title": "x", "body": "<i>ok</i>", "audience": "all", "channel": "both"})
    assert '<strong id="recipient-count">8</strong>' in preview.text  # 3 chats + 5 mails


def test_a_test_goes_to_the_staff_members_mail_and_chat(client, admin, scripted, work):
    newsletter_id = _compose(client)
    assert client.post("/console/newsletters/my-chat", data={"telegram_chat_id": "424242"}, headers=HTMX).status_code == 204
    answer = client.post(f"/console/newsletters/{newsletter_id}/test", headers=HTMX)
    assert answer.status_code == 204 and "424242" in answer.headers["HX-Trigger"]
    work()
    assert scripted.last_message(424242)["text"].startswith("<b>New</b> locations")
    assert db.session.scalar(select(MailMessage.to_email).where(MailMessage.kind == "newsletter_test")) == admin.email
    assert db.session.scalar(select(func.count()).select_from(NewsletterRecipient)) == 0  # nobody else
