"""Support tickets from the bot, and newsletters with one row per recipient and channel."""
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, Text, UniqueConstraint, func
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class SupportTicket(db.Model):
    """A customer's conversation with support; at most one not-closed ticket per chat."""

    __tablename__ = "support_tickets"
    __table_args__ = (
        Index("uq_support_tickets_open_chat", "chat_id", unique=True, postgresql_where=sql("state <> 'closed'")),
        Index("ix_support_tickets_state_updated", "state", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    tg_username: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default=sql("'open'"))  # TicketState
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    subject: Mapped[str] = mapped_column(Text, server_default=sql("''"))  # the first words, for the list
    unread: Mapped[int] = mapped_column(Integer, server_default=sql("0"), default=0)  # customer entries staff have not opened
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    entries: Mapped[list["SupportEntry"]] = relationship(order_by="SupportEntry.id", back_populates="ticket")


class SupportEntry(db.Model):
    """One line of a ticket: the customer's message, staff's reply, or an internal note."""

    __tablename__ = "support_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("support_tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(Text)  # TicketEntryKind
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text, server_default=sql("''"))
    file_id: Mapped[str | None] = mapped_column(Text)  # Telegram's file_id; staff open it through the app
    file_kind: Mapped[str | None] = mapped_column(Text)  # "photo" or "document"
    file_name: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("telegram_messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    ticket: Mapped[SupportTicket] = relationship(back_populates="entries")


class Newsletter(db.Model):
    __tablename__ = "newsletters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)  # the mail's subject, and the console's name for it
    body: Mapped[str] = mapped_column(Text)  # Telegram's HTML subset, checked before saving
    audience: Mapped[str] = mapped_column(Text)  # services/newsletters/audience.py AUDIENCES
    language: Mapped[str | None] = mapped_column(Text)  # NULL: every language
    channel: Mapped[str] = mapped_column(Text)  # NoticeChannel: telegram, mail or both
    state: Mapped[str] = mapped_column(Text, server_default=sql("'draft'"))  # NewsletterState
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NewsletterRecipient(db.Model):
    """One newsletter to one address on one channel: claimed (`sending`, committed) before it is sent."""

    __tablename__ = "newsletter_recipients"
    __table_args__ = (
        UniqueConstraint("newsletter_id", "channel", "address", name="uq_newsletter_recipient"),
        Index("ix_newsletter_recipients_queue", "newsletter_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    newsletter_id: Mapped[int] = mapped_column(ForeignKey("newsletters.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(Text)  # "telegram" or "mail"
    address: Mapped[str] = mapped_column(Text)  # the chat id or the e-mail address
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(Text, server_default=sql("'queued'"))  # RecipientState
    error: Mapped[str | None] = mapped_column(Text)
    attempted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
