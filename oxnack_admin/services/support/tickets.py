"""Support tickets: a customer's message to the bot opens one or joins their open one; staff answer from the console.

One not-closed ticket per chat (a partial unique index): two messages arriving at once take a
transaction-level advisory lock on the chat, so the second joins the first's ticket.
"""
from datetime import datetime, timezone

from sqlalchemy import func, or_, select, text

from oxnack_admin.extensions import db
from oxnack_admin.models import Staff, SupportEntry, SupportTicket, User
from oxnack_admin.models.enums import TicketEntryKind, TicketState
from oxnack_admin.services.staff import audit
from oxnack_admin.services.support import alerts
from oxnack_admin.services.telegram import outbox, texts

TICKET_LOCK_CLASS = 7019  # pg_advisory_xact_lock(class, chat): one ticket opened per chat at a time
SUBJECT_LENGTH = 80
PAGE_SIZE = 50


class TicketActionError(Exception):
    """A staff action that cannot be done (empty reply, closed ticket, ...); the message says why."""


def parse_message(message: dict) -> tuple[str, str | None, str | None, str | None]:
    """(text, file_id, file_kind, file_name) of a bot message: the caption goes with a photo or document."""
    words = message.get("text") if isinstance(message.get("text"), str) else ""
    words = words or (message.get("caption") if isinstance(message.get("caption"), str) else "")
    photos = message.get("photo")
    if isinstance(photos, list) and photos and isinstance(photos[-1], dict) and photos[-1].get("file_id"):
        return words, str(photos[-1]["file_id"]), "photo", None  # the last size is the largest
    document = message.get("document")
    if isinstance(document, dict) and document.get("file_id"):
        return words, str(document["file_id"]), "document", str(document.get("file_name") or "") or None
    return words, None, None, None


def take_customer_message(chat_id: int, user: User | None, sender: dict, language: str, words: str,
                          file_id: str | None = None, file_kind: str | None = None,
                          file_name: str | None = None) -> tuple[SupportTicket, bool]:
    """Add the customer's words (or file) to their open ticket, or open one; (ticket, opened). Commits."""
    db.session.execute(text("SELECT pg_advisory_xact_lock(:kind, hashtext(:chat))"),
                       {"kind": TICKET_LOCK_CLASS, "chat": str(chat_id)})
    ticket = db.session.scalar(select(SupportTicket).where(SupportTicket.chat_id == chat_id,
                                                           SupportTicket.state != TicketState.CLOSED))
    opened = ticket is None
    if opened:
        subject = (words or (file_name or file_kind or "")).strip().splitlines()[0] if (words or file_kind) else ""
        ticket = SupportTicket(chat_id=chat_id, user_id=user.id if user else None, state=TicketState.OPEN,
                               subject=subject[:SUBJECT_LENGTH], unread=0)
        db.session.add(ticket)
    ticket.user_id = ticket.user_id or (user.id if user else None)
    ticket.tg_username, ticket.language = sender.get("username") or ticket.tg_username, language
    ticket.state, ticket.unread, ticket.updated_at = TicketState.OPEN, (ticket.unread or 0) + 1, _now()
    db.session.flush()
    db.session.add(SupportEntry(ticket_id=ticket.id, kind=TicketEntryKind.CUSTOMER, text=words or "",
                                file_id=file_id, file_kind=file_kind, file_name=file_name))
    if opened:
        alerts.alert("new_ticket", f"New support ticket #{ticket.id} from {_who(ticket, user)}: {ticket.subject}",
                     ("console.support_show", {"ticket_id": ticket.id}))
    db.session.commit()
    return ticket, opened


def reply(ticket: SupportTicket, staff: Staff, words: str) -> SupportEntry:
    """Send staff's answer to the customer's chat ("Support replied: ..."); the ticket waits for them. Commits."""
    words = (words or "").strip()
    if not words:
        raise TicketActionError("Write the reply first.")
    lang = ticket.language or "ru"
    message = outbox.queue_message(ticket.chat_id, texts.say(lang, "support_replied", text=words),
                                   kind="support_reply", user_id=ticket.user_id)
    entry = SupportEntry(ticket_id=ticket.id, kind=TicketEntryKind.REPLY, staff_id=staff.id, text=words,
                         message_id=message.id)
    db.session.add(entry)
    before = ticket.state
    ticket.state, ticket.updated_at, ticket.closed_at = TicketState.WAITING, _now(), None
    ticket.assignee_id = ticket.assignee_id or staff.id
    audit.record(staff, "support.replied", "support_ticket", ticket.id, before={"state": before},
                 after={"state": ticket.state, "chars": len(words)})
    db.session.commit()
    return entry


def note(ticket: SupportTicket, staff: Staff, words: str) -> SupportEntry:
    """An internal note: kept on the ticket, never sent. Commits."""
    words = (words or "").strip()
    if not words:
        raise TicketActionError("Write the note first.")
    entry = SupportEntry(ticket_id=ticket.id, kind=TicketEntryKind.NOTE, staff_id=staff.id, text=words)
    db.session.add(entry)
    ticket.updated_at = _now()
    audit.record(staff, "support.noted", "support_ticket", ticket.id, after={"chars": len(words)})
    db.session.commit()
    return entry


def assign(ticket: SupportTicket, staff: Staff, assignee_id: int | None) -> None:
    """Give the ticket to an active staff member, or to nobody. Commits."""
    assignee = db.session.get(Staff, assignee_id) if assignee_id else None
    if assignee_id and (assignee is None or not assignee.active):
        raise TicketActionError("No such active staff member.")
    before = ticket.assignee_id
    ticket.assignee_id = assignee.id if assignee else None
    audit.record(staff, "support.assigned", "support_ticket", ticket.id, before={"assignee_id": before},
                 after={"assignee_id": ticket.assignee_id})
    db.session.commit()


def set_closed(ticket: SupportTicket, staff: Staff, closed: bool) -> None:
    """Close, or reopen (refused while the customer already has another open ticket). Commits."""
    if closed == (ticket.state == TicketState.CLOSED):
        raise TicketActionError("The ticket is already closed." if closed else "The ticket is not closed.")
    if not closed and db.session.scalar(select(SupportTicket.id).where(
            SupportTicket.chat_id == ticket.chat_id, SupportTicket.state != TicketState.CLOSED)):
        raise TicketActionError("This customer has another open ticket; answer there.")
    before = ticket.state
    ticket.state = TicketState.CLOSED if closed else TicketState.OPEN
    ticket.closed_at, ticket.unread = (_now(), 0) if closed else (None, ticket.unread)
    ticket.updated_at = _now()
    audit.record(staff, "support.closed" if closed else "support.reopened", "support_ticket", ticket.id,
                 before={"state": before}, after={"state": ticket.state})
    db.session.commit()


def mark_read(ticket: SupportTicket) -> None:
    if ticket.unread:
        ticket.unread = 0
        db.session.commit()


def unread_count() -> int:
    """Tickets with customer messages staff have not opened yet (the navigation's badge)."""
    return db.session.scalar(select(func.count()).select_from(SupportTicket).where(
        SupportTicket.unread > 0, SupportTicket.state != TicketState.CLOSED)) or 0


def search(state: str | None, assignee: str | None, query: str | None, me: Staff, page: int = 1) -> dict:
    """Tickets by state, assignee ("me", "none" or an id) and words (username, mail, subject, message text)."""
    statement = select(SupportTicket).outerjoin(User, User.id == SupportTicket.user_id)
    if state in tuple(TicketState):
        statement = statement.where(SupportTicket.state == state)
    if assignee == "me":
        statement = statement.where(SupportTicket.assignee_id == me.id)
    elif assignee == "none":
        statement = statement.where(SupportTicket.assignee_id.is_(None))
    elif (assignee or "").isdigit():
        statement = statement.where(SupportTicket.assignee_id == int(assignee))
    if query and query.strip():
        like = f"%{query.strip()}%"
        in_entries = select(SupportEntry.ticket_id).where(SupportEntry.text.ilike(like))
        conditions = [SupportTicket.subject.ilike(like), SupportTicket.tg_username.ilike(like), User.mail.ilike(like),
                      SupportTicket.id.in_(in_entries)]
        if query.strip().isdigit():
            conditions += [SupportTicket.id == int(query.strip()), SupportTicket.chat_id == int(query.strip())]
        statement = statement.where(or_(*conditions))
    total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = db.session.scalars(statement.order_by(SupportTicket.unread.desc(), SupportTicket.updated_at.desc())
                              .limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE)).all()
    counts = dict(db.session.execute(select(SupportTicket.state, func.count()).group_by(SupportTicket.state)).all())
    return {"tickets": rows, "total": total, "page": max(page, 1), "pages": max(1, -(-total // PAGE_SIZE)),
            "counts": counts}


def staff_choices() -> list[Staff]:
    return list(db.session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.email)))


def _who(ticket: SupportTicket, user: User | None) -> str:
    if user is not None:
        return user.mail or (f"@{user.tg_username}" if user.tg_username else f"customer {user.id}")
    return f"@{ticket.tg_username}" if ticket.tg_username else f"Telegram {ticket.chat_id}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def entry_of(ticket: SupportTicket, entry_id: int) -> SupportEntry | None:
    entry = db.session.get(SupportEntry, entry_id)
    return entry if entry is not None and entry.ticket_id == ticket.id and entry.file_id else None


def open_file(entry: SupportEntry) -> tuple:
    """(chunks, size, content type, download name) of an attachment, fetched from Telegram through the app.

    Only a photo is shown inline (as an image); anything else is a download of opaque bytes, so
    a customer's HTML file never runs in the console's origin.
    """
    bot = outbox.api()
    found = bot.get_file(entry.file_id) or {}
    file_path = str(found.get("file_path") or "")
    if not file_path:
        raise TicketActionError("Telegram no longer has this file.")
    chunks, size = bot.open_file(file_path)
    name = entry.file_name or file_path.rsplit("/", 1)[-1] or f"file-{entry.id}"
    content_type = "image/jpeg" if entry.file_kind == "photo" else "application/octet-stream"
    return chunks, size, content_type, name
