"""Who is who in the bot: the chat row, the customer with this `tg_id`, linking, new accounts, unlinking.

A Telegram account belongs to at most one customer: linking and opening take a transaction-level
advisory lock on the Telegram id and check that no customer holds it yet.
"""
from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import func, select, text

from oxnack_admin.extensions import db
from oxnack_admin.models import TelegramChat, User
from oxnack_admin.services.accounts import codes
from oxnack_admin.services.accounts.customers import find_by_mail
from oxnack_admin.services.mail import mail
from oxnack_admin.services.staff import audit
from oxnack_admin.services.telegram.texts import language_of

LINK_CODES = "telegram_link"
LINK_LOCK_CLASS = 7014  # pg_advisory_xact_lock(class, id): one link or new account per Telegram id at a time


class LinkRefused(Exception):
    """`key` names the bot's text for the customer."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def touch(chat_id: int, sender: dict) -> TelegramChat:
    """The chat row, created at the first update; a user who writes again is reachable again. Caller commits."""
    chat = db.session.get(TelegramChat, chat_id, with_for_update=True)
    if chat is None:
        chat = TelegramChat(chat_id=chat_id, language=language_of(sender.get("language_code")), notify="both")
        db.session.add(chat)
    chat.username = sender.get("username") or chat.username
    chat.blocked_at = chat.blocked_reason = None
    chat.last_seen_at = _now()
    return chat


def customer_of(tg_id: int) -> User | None:
    """The customer with this Telegram id (the oldest, should legacy data hold two)."""
    return db.session.scalar(select(User).where(User.tg_id == tg_id).order_by(User.id).limit(1))


def refresh_username(user: User, username: str | None) -> None:
    if username and user.tg_username != username:
        user.tg_username = username


def _lock(tg_id: int) -> None:
    db.session.execute(text("SELECT pg_advisory_xact_lock(:kind, hashtext(:id))"),
                       {"kind": LINK_LOCK_CLASS, "id": str(tg_id)})


def send_link_code(chat_id: int, address: str) -> User:
    """Mail a 6-digit code to the verified customer with this address; raises LinkRefused. Caller commits."""
    user = find_by_mail(address)
    if user is None or not user.is_verified or user.is_blocked:
        raise LinkRefused("no_such_mail")
    if user.tg_id is not None and user.tg_id != chat_id:
        raise LinkRefused("mail_taken")
    code = codes.issue(LINK_CODES, f"{user.id}:{chat_id}")
    mail.queue_templated_mail(user.mail, "telegram_link_code", code=code,
                              minutes=current_app.config["CODE_TTL_SECONDS"] // 60)
    return user


def link_with_code(chat_id: int, user_id: int, code: str, username: str | None) -> User:
    """Link when the code matches; raises LinkRefused (wrong_code, code_gone, already_customer, mail_taken). Commits."""
    subject = f"{user_id}:{chat_id}"
    result = codes.check(LINK_CODES, subject, code.strip())
    if result == codes.CodeCheck.WRONG:  # the last allowed wrong try also ends the code: no "try again" then
        raise LinkRefused("wrong_code" if codes.seconds_left(LINK_CODES, subject) is not None else "code_gone")
    if result == codes.CodeCheck.MISSING:
        raise LinkRefused("code_gone")
    _lock(chat_id)
    user = db.session.get(User, user_id, with_for_update=True)
    if customer_of(chat_id) not in (None, user):
        db.session.rollback()
        raise LinkRefused("already_customer")
    if user is None or (user.tg_id is not None and user.tg_id != chat_id):
        db.session.rollback()
        raise LinkRefused("mail_taken")
    user.tg_id, user.tg_username = chat_id, username
    _chat(chat_id).linked_at = _now()
    audit.record(None, "telegram.linked", "user", user.id, after={"tg_id": chat_id})
    db.session.commit()
    return user


def open_account(chat_id: int, username: str | None) -> User:
    """A customer with this Telegram id, no e-mail, verified, username the hex of its id. Commits."""
    _lock(chat_id)
    if customer_of(chat_id) is not None:
        db.session.rollback()
        raise LinkRefused("already_customer")
    user = User(tg_id=chat_id, tg_username=username, is_verified=True, mail=None, passwd_hash=None)
    db.session.add(user)
    db.session.flush()
    user.username = format(user.id, "x")  # the registration rule
    _chat(chat_id).linked_at = _now()
    audit.record(None, "telegram.account_opened", "user", user.id, after={"tg_id": chat_id})
    db.session.commit()
    return user


def unlink(user: User, staff=None) -> bool:
    """End the link; a customer without e-mail cannot cut themselves off (staff can). Commits; audited."""
    locked = db.session.get(User, user.id, with_for_update=True)
    if locked.tg_id is None:
        db.session.rollback()
        return False
    if staff is None and not (locked.mail or "").strip():
        db.session.rollback()
        raise LinkRefused("unlink_refused")
    tg_id = locked.tg_id
    locked.tg_id = None
    chat = db.session.get(TelegramChat, tg_id)
    if chat is not None:
        chat.linked_at = None
    audit.record(staff, "telegram.unlinked", "user", locked.id, before={"tg_id": tg_id, "tg_username": locked.tg_username})
    db.session.commit()
    return True


def chat_of(user: User) -> TelegramChat | None:
    return db.session.get(TelegramChat, user.tg_id) if user.tg_id else None


def linked_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(User.tg_id.is_not(None)))


def _chat(chat_id: int) -> TelegramChat:
    chat = db.session.get(TelegramChat, chat_id)
    if chat is None:
        chat = TelegramChat(chat_id=chat_id, notify="both")
        db.session.add(chat)
    return chat


def _now() -> datetime:
    return datetime.now(timezone.utc)
