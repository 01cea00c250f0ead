"""Service notices to a customer: by mail and/or over Telegram, as their /notify choice says; one place.

Mail is unchanged for customers with an address (and "telegram only" never silences a mail that
carries a root password: it has nowhere else to go). A customer linked to Telegram gets the
notice there too (or only there); a customer without mail gets it only there. A root password
goes over Telegram only to a customer without mail, sealed until sent and deleted from the chat
after TELEGRAM_SECRET_TTL_MINUTES.
"""
from flask import current_app

from oxnack_admin.extensions import db
from oxnack_admin.models import TelegramChat, User
from oxnack_admin.models.enums import NoticeChannel
from oxnack_admin.services.mail import mail
from oxnack_admin.services.telegram import outbox, texts

MAIL_KINDS = {"server_ready", "server_reinstalled", "reinstall_failed", "top_up_received", "lifecycle_reminder",
              "lifecycle_renewed", "lifecycle_suspended", "lifecycle_terminated", "provisioning_failed"}  # the kinds with a mail template


def channel_of(user: User) -> str:
    """Where this customer's notices go now."""
    has_mail = bool((user.mail or "").strip())
    if not user.tg_id or not outbox.bot_enabled():
        return NoticeChannel.MAIL
    if not has_mail:
        return NoticeChannel.TELEGRAM
    chat = db.session.get(TelegramChat, user.tg_id)
    return (chat.notify if chat is not None and chat.notify else NoticeChannel.BOTH)


def notify(user: User | None, kind: str, *, password: str | None = None, **context) -> bool:
    """Queue the notice (after the caller's commit); False when it reaches nobody."""
    if user is None:
        return False
    channel, sent = channel_of(user), False
    wants_mail = channel in (NoticeChannel.MAIL, NoticeChannel.BOTH) or password is not None
    if user.mail and kind in MAIL_KINDS and wants_mail:
        mail.queue_templated_mail(user.mail, kind, **({"password": password} if password else {}), **context)
        sent = True
    if user.tg_id and channel in (NoticeChannel.TELEGRAM, NoticeChannel.BOTH):
        sent = _telegram(user, kind, password if not user.mail else None, context) or sent
    return sent


def _telegram(user: User, kind: str, password: str | None, context: dict) -> bool:
    chat = db.session.get(TelegramChat, user.tg_id)
    lang = chat.language if chat is not None and chat.language else "ru"
    minutes = int(current_app.config["TELEGRAM_SECRET_TTL_MINUTES"])
    values = {"ip": "", "how": texts.REMINDER_HOW[lang], "password_line": "", **context}
    if password:
        values["password_line"] = texts.Raw(texts.notice(lang, "password_line", password=password, minutes=minutes))
    text = texts.notice(lang, kind, **values)
    if text is None:
        return False
    outbox.queue_message(user.tg_id, text, kind=kind, user_id=user.id, secret=password is not None,
                         delete_after_minutes=minutes if password else None)
    return True
