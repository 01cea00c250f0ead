"""Support tickets over the fake Bot API: free text, photos and documents open or join a ticket; staff answer."""
import json

from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, SupportEntry, SupportTicket
from oxnack_admin.models.enums import TicketState
from tests.console.conftest import HTMX
from tests.inbox.conftest import document_update, photo_update
from tests.support.factories import make_user

TG = 6660001


def _tickets() -> list[SupportTicket]:
    db.session.expire_all()
    return list(db.session.scalars(select(SupportTicket).order_by(SupportTicket.id)))


def _entries(ticket_id: int) -> list[SupportEntry]:
    return list(db.session.scalars(select(SupportEntry).where(SupportEntry.ticket_id == ticket_id)
                                   .order_by(SupportEntry.id)))


def test_free_text_opens_a_ticket_and_later_messages_join_it(deliver, telegram):
    customer = make_user(balance=0, tg_id=TG, tg_username="anna")
    deliver(telegram.user_message(TG, "My server does not boot", username="anna"))
    assert "Support request №" in telegram.last_message(TG)["text"]
    deliver(telegram.user_message(TG, "It says <kernel panic> & stops", username="anna"))
    assert "Added to your request" in telegram.last_message(TG)["text"]
    deliver(photo_update(TG, "photo-file-1", caption="the screen", username="anna"))
    deliver(telegram.user_message(TG, "/support", username="anna"))  # alone: asks, files nothing
    deliver(telegram.user_message(TG, "/support also the disk", username="anna"))

    [ticket] = _tickets()
    assert (ticket.user_id, ticket.state, ticket.unread) == (customer.id, TicketState.OPEN, 4)
    assert ticket.subject == "My server does not boot"
    entries = _entries(ticket.id)
    assert [e.text for e in entries] == ["My server does not boot", "It says <kernel panic> & stops", "the screen",
                                         "also the disk"]
    assert (entries[2].file_id, entries[2].file_kind) == ("photo-file-1", "photo")  # the largest size kept


def test_someone_without_an_account_or_username_is_heard_too(deliver, telegram):
    deliver(telegram.user_message(TG, "how do I pay?", username=None))
    [ticket] = _tickets()
    assert ticket.user_id is None and ticket.tg_username is None and ticket.chat_id == TG


def test_a_staff_reply_reaches_the_chat_escaped_and_a_note_does_not(deliver, telegram, work, client, as_role):
    deliver(telegram.user_message(TG, "Привет", username="boris", language_code="ru"))
    [ticket] = _tickets()
    staff = as_role("support")
    sent_before = len(telegram.api_calls("sendMessage"))

    note = client.post(f"/console/support/{ticket.id}/note", data={"text": "customer is on the old plan"}, headers=HTMX)
    assert note.status_code == 200
    answer = client.post(f"/console/support/{ticket.id}/reply", data={"text": "Перезагрузите <b>сервер</b> & ждите"},
                         headers=HTMX)
    assert answer.status_code == 200 and "Reply sent" in json.loads(answer.headers["HX-Trigger"])["toast"]["message"]
    work()

    replies = telegram.api_calls("sendMessage")[sent_before:]
    assert [call.body["text"] for call in replies] == \
        ["Ответ поддержки: Перезагрузите &lt;b&gt;сервер&lt;/b&gt; &amp; ждите"]
    assert telegram.last_message(TG)["text"] == replies[0].body["text"]
    db.session.expire_all()
    ticket = db.session.get(SupportTicket, ticket.id)
    assert (ticket.state, ticket.assignee_id) == (TicketState.WAITING, staff.id)
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == str(ticket.id))))
    assert {"support.noted", "support.replied"} <= actions

    page = client.get(f"/console/support/{ticket.id}")
    assert "customer is on the old plan" in page.text and "internal note" in page.text and "sent" in page.text

    deliver(telegram.user_message(TG, "Спасибо, заработало", username="boris", language_code="ru"))
    db.session.expire_all()
    assert db.session.get(SupportTicket, ticket.id).state == TicketState.OPEN  # the customer's turn is over


def test_assign_close_and_reopen_are_audited_and_a_closed_ticket_is_not_joined(deliver, telegram, client, as_role):
    deliver(telegram.user_message(TG, "first question"))
    [ticket] = _tickets()
    colleague = as_role("support", email="colleague@oxnack.test")
    me = as_role("support")
    assert client.post(f"/console/support/{ticket.id}/assign", data={"assignee_id": colleague.id},
                       headers=HTMX).status_code == 200
    assert client.post(f"/console/support/{ticket.id}/close", headers=HTMX).status_code == 200
    assert client.post(f"/console/support/{ticket.id}/close", headers=HTMX).status_code == 409

    deliver(telegram.user_message(TG, "a new question"))
    first, second = _tickets()
    assert (first.state, second.state) == (TicketState.CLOSED, TicketState.OPEN)
    assert client.post(f"/console/support/{first.id}/reopen", headers=HTMX).status_code == 409  # one open per chat
    assert client.post(f"/console/support/{second.id}/close", headers=HTMX).status_code == 200
    assert client.post(f"/console/support/{first.id}/reopen", headers=HTMX).status_code == 200
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.target_type == "support_ticket")
                                     .order_by(AuditEvent.id)))
    assert [(e.action, e.actor) for e in events] == [
        ("support.assigned", me.email), ("support.closed", me.email), ("support.closed", me.email),
        ("support.reopened", me.email)]
    assert events[0].after == {"assignee_id": colleague.id}


def test_the_list_searches_and_the_unread_badge_answers_only_changes(deliver, telegram, client, as_role):
    deliver(telegram.user_message(TG, "billing question about invoice 77", username="carla"))
    deliver(telegram.user_message(TG + 1, "vpn is slow", username="dmitri"))
    as_role("support")
    listing = client.get("/console/support?state=open&q=invoice 77")
    assert "carla" in listing.text and "dmitri" not in listing.text
    assert client.get("/console/support?state=open&q=dmitri", headers=HTMX).text.count("/console/support/") == 1

    assert client.get("/console/support/unread?shown=2", headers=HTMX).status_code == 204  # nothing changed
    badge = client.get("/console/support/unread?shown=0", headers=HTMX)
    assert badge.status_code == 200 and 'id="support-unread"' in badge.text and ">2<" in badge.text
    [first, _] = _tickets()
    shown = client.get(f"/console/support/{first.id}", headers=HTMX)  # opening a ticket reads it
    assert 'hx-swap-oob="true"' in shown.text and ">1<" in shown.text
    assert client.get("/console/support/unread?shown=1", headers=HTMX).status_code == 204


def test_files_are_fetched_through_the_app_and_the_token_stays_on_the_server(deliver, telegram, client, as_role):
    deliver(photo_update(TG, "photo-77"))
    deliver(document_update(TG, "doc-88", "invoice.html"))
    [ticket] = _tickets()
    photo, document = _entries(ticket.id)
    as_role("support")
    page = client.get(f"/console/support/{ticket.id}")
    assert telegram.token not in page.text

    shown = client.get(f"/console/support/{ticket.id}/files/{photo.id}")
    assert shown.status_code == 200 and shown.headers["Content-Type"] == "image/jpeg"
    assert json.loads(shown.data) == {"file": "files/photo-77"}  # the simulator's bytes for that file_path
    assert [call.body for call in telegram.api_calls("getFile")] == [{"file_id": "photo-77"}]
    downloaded = client.get(f"/console/support/{ticket.id}/files/{document.id}")
    assert downloaded.headers["Content-Type"] == "application/octet-stream"  # a customer's HTML never renders here
    assert downloaded.headers["Content-Disposition"].startswith("attachment;")
    for answer in (shown, downloaded):
        assert telegram.token not in answer.get_data(as_text=True) and telegram.token not in str(answer.headers)
    assert client.get(f"/console/support/{ticket.id + 1}/files/{photo.id}").status_code == 404


def test_anonymous_staff_cannot_read_or_answer(deliver, telegram, client):
    deliver(telegram.user_message(TG, "hello"))
    [ticket] = _tickets()
    assert client.get("/console/support").status_code == 302
    assert client.post(f"/console/support/{ticket.id}/reply", data={"text": "x"}).status_code == 302
    assert len(_entries(ticket.id)) == 1
