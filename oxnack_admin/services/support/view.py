"""What the console's ticket page shows, loaded here so the template does no queries."""
from dataclasses import dataclass

from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import Staff, SupportEntry, SupportTicket, TelegramChat, TelegramMessage


@dataclass
class EntryView:
    entry: SupportEntry
    author: str  # "customer", or the staff member's e-mail
    delivery: str | None  # the reply's outbox state (queued, sent, undelivered, ...)


@dataclass
class TicketView:
    ticket: SupportTicket
    entries: list[EntryView]
    assignee: str | None
    chat: TelegramChat | None


def ticket_view(ticket: SupportTicket) -> TicketView:
    entries = list(db.session.scalars(select(SupportEntry).where(SupportEntry.ticket_id == ticket.id)
                                      .order_by(SupportEntry.id)))
    staff_ids = {e.staff_id for e in entries if e.staff_id} | ({ticket.assignee_id} if ticket.assignee_id else set())
    emails = dict(db.session.execute(select(Staff.id, Staff.email).where(Staff.id.in_(staff_ids))).all()) \
        if staff_ids else {}
    message_ids = [e.message_id for e in entries if e.message_id]
    states = dict(db.session.execute(select(TelegramMessage.id, TelegramMessage.state)
                                     .where(TelegramMessage.id.in_(message_ids))).all()) if message_ids else {}
    views = [EntryView(e, emails.get(e.staff_id, "staff") if e.staff_id else "customer", states.get(e.message_id))
             for e in entries]
    return TicketView(ticket, views, emails.get(ticket.assignee_id), db.session.get(TelegramChat, ticket.chat_id))
