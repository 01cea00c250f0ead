"""What the console shows of a customer's Telegram side: the link, its reachability and the notices sent."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import TelegramChat, TelegramMessage, User

REPLY = "reply"  # the bot's answers in a dialogue; the console lists notices, and counts these


@dataclass(frozen=True)
class NoticeRow:
    """One notice as staff see it: never its text (it may have carried a root password)."""

    id: int
    kind: str
    state: str
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class TelegramLink:
    tg_id: int | None
    username: str | None
    linked_at: datetime | None  # None for a legacy tg_id (linked before the bot) or an unlinked account
    blocked_at: datetime | None  # set: the user blocked the bot; nothing is sent until they write again
    blocked_reason: str | None
    last_seen_at: datetime | None
    notices: list[NoticeRow]
    notice_count: int
    reply_count: int

    @property
    def reachable(self) -> bool:
        return self.tg_id is not None and self.blocked_at is None


def link_of(user: User, notices_shown: int = 20) -> TelegramLink:
    """The customer's Telegram link and the latest notices queued for them (loaded here, not in the template)."""
    chat = db.session.get(TelegramChat, user.tg_id) if user.tg_id else None
    mine = select(TelegramMessage).where(TelegramMessage.user_id == user.id)
    rows = db.session.scalars(mine.where(TelegramMessage.kind != REPLY)
                              .order_by(TelegramMessage.id.desc()).limit(notices_shown))
    counts = dict(db.session.execute(select(TelegramMessage.kind == REPLY, func.count())
                                     .where(TelegramMessage.user_id == user.id)
                                     .group_by(TelegramMessage.kind == REPLY)).all())
    return TelegramLink(
        tg_id=user.tg_id, username=user.tg_username or (chat.username if chat else None),
        linked_at=chat.linked_at if chat else None, blocked_at=chat.blocked_at if chat else None,
        blocked_reason=chat.blocked_reason if chat else None, last_seen_at=chat.last_seen_at if chat else None,
        notices=[NoticeRow(m.id, m.kind, m.state, m.created_at, m.sent_at, m.attempts or 0, m.last_error) for m in rows],
        notice_count=counts.get(False, 0), reply_count=counts.get(True, 0))
