"""The Telegram bot: chats, the outbox of messages, and the updates received (each handled once)."""
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, Text, func
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class TelegramChat(db.Model):
    """A Telegram user who wrote to the bot; the customer is the `users` row with this `tg_id`."""

    __tablename__ = "telegram_chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # private chat = user id
    username: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(Text)  # "ru" or "en"
    notify: Mapped[str] = mapped_column(Text, server_default=sql("'both'"))  # NoticeChannel
    linked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # NULL: a legacy tg_id, or not linked
    blocked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # set: unreachable (403)
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    newsletters_off_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # /stop: no newsletters
    imported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # from the old bot's data.csv


class TelegramMessage(db.Model):
    """One message to send (or a bot message to edit or delete): a row first, like mail."""

    __tablename__ = "telegram_messages"
    __table_args__ = (
        Index("ix_telegram_messages_open", "state", "created_at",
              postgresql_where=sql("state IN ('queued', 'sending')")),
        Index("ix_telegram_messages_delete_due", "delete_after",
              postgresql_where=sql("delete_after IS NOT NULL AND deleted_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(Text)  # a notice kind, or "reply" for the bot's answers
    text: Mapped[str] = mapped_column(Text)  # sealed (services/sealed.py) while `secret` and not yet sent
    reply_markup: Mapped[dict | None] = mapped_column(JSONB)
    edit_message_id: Mapped[int | None] = mapped_column(BigInteger)  # set: editMessageText of that message
    state: Mapped[str] = mapped_column(Text, server_default=sql("'queued'"))  # TelegramMessageState
    attempts: Mapped[int] = mapped_column(Integer, server_default=sql("0"), default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(Text)
    tg_message_id: Mapped[int | None] = mapped_column(BigInteger)  # Telegram's id of the sent message
    secret: Mapped[bool] = mapped_column(Boolean, server_default=sql("false"), default=False)
    delete_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # deleteMessage from then on
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    attempted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the last hand-over began
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TelegramUpdate(db.Model):
    """An update Telegram delivered: its id is the key, so a repeat (or a concurrent copy) is handled once."""

    __tablename__ = "telegram_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict | None] = mapped_column(JSONB)  # dropped once handled
    state: Mapped[str] = mapped_column(Text, server_default=sql("'received'"))  # received, handled, failed
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
