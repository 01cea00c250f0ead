"""Who a newsletter goes to: the audience and language chosen, on the channel chosen, minus those who opted out.

People are customers (not blocked) and, for the audiences that include them, Telegram chats no
customer holds (people who wrote to the bot, and the old bot's imported subscribers). A
customer's language is their chat's; without a chat it is Russian, as the site's.
"""
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import ProxyOrder, Server, TelegramChat, User
from oxnack_admin.models.enums import NoticeChannel, ProxyOrderState

AUDIENCES = {
    "all": "All customers (and Telegram subscribers who are not customers)",
    "active_server": "Customers with an active server",
    "proxy_buyers": "Customers who bought a proxy",
    "telegram": "Telegram-linked (customers and subscribers)",
}
WITH_CHATS_ONLY = {"all", "telegram"}  # the audiences that take people who are not customers
BOUGHT = (ProxyOrderState.ACTIVE, ProxyOrderState.REFUNDING, ProxyOrderState.REFUNDED)


@dataclass(frozen=True)
class Target:
    channel: str  # "telegram" or "mail"
    address: str  # chat id or e-mail
    user_id: int | None


def targets(audience: str, language: str | None, channel: str) -> list[Target]:
    """One target per address and channel (a customer with both gets both on "both")."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    channels = {NoticeChannel.TELEGRAM, NoticeChannel.MAIL} if channel == NoticeChannel.BOTH else {channel}
    found: dict[tuple[str, str], Target] = {}
    for user_id, tg_id, mail, verified in _customers(audience, language):
        if NoticeChannel.TELEGRAM in channels and tg_id:
            found.setdefault(("telegram", str(tg_id)), Target("telegram", str(tg_id), user_id))
        if NoticeChannel.MAIL in channels and (mail or "").strip() and verified:
            found.setdefault(("mail", mail.strip().lower()), Target("mail", mail.strip(), user_id))
    if audience in WITH_CHATS_ONLY and NoticeChannel.TELEGRAM in channels:
        for chat_id in _chats_without_customer(language):
            found.setdefault(("telegram", str(chat_id)), Target("telegram", str(chat_id), None))
    return sorted(found.values(), key=lambda t: (t.channel, t.user_id is None, t.user_id or 0, t.address))


def count(audience: str, language: str | None, channel: str) -> int:
    return len(targets(audience, language, channel))


def _customers(audience: str, language: str | None):
    chat = TelegramChat
    statement = (select(User.id, User.tg_id, User.mail, User.is_verified)
                 .outerjoin(chat, chat.chat_id == User.tg_id)
                 .where(User.blocked_at.is_(None), User.newsletters_off_at.is_(None), chat.newsletters_off_at.is_(None)))
    if audience == "active_server":
        statement = statement.where(exists().where(Server.username == User.username, Server.busy.is_(True),
                                                   Server.lifecycle_state == "active"))
    elif audience == "proxy_buyers":
        statement = statement.where(exists().where(ProxyOrder.user_id == User.id, ProxyOrder.state.in_(BOUGHT)))
    elif audience == "telegram":
        statement = statement.where(User.tg_id.is_not(None))
    if language:
        statement = statement.where(func.coalesce(chat.language, "ru") == language)
    return db.session.execute(statement.order_by(User.id)).all()


def _chats_without_customer(language: str | None) -> list[int]:
    statement = select(TelegramChat.chat_id).where(
        TelegramChat.newsletters_off_at.is_(None), TelegramChat.chat_id > 0,  # private chats only
        ~exists().where(and_(User.tg_id == TelegramChat.chat_id)))
    if language:
        statement = statement.where(func.coalesce(TelegramChat.language, "ru") == language)
    return list(db.session.scalars(statement.order_by(TelegramChat.chat_id)))
