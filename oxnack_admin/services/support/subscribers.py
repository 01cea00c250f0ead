"""Who gets newsletters: opting out (/stop, the mail's signed link) and the old bot's data.csv brought in.

An opt-out ends newsletters only; service notices (services/notices.py) never read it.
"""
import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timezone

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import TelegramChat, User

UNSUBSCRIBE_SALT = "newsletter-unsubscribe"
MAX_TG_ID = 2 ** 63 - 1


def set_newsletters(chat_id: int | None, user: User | None, wanted: bool) -> None:
    """Newsletters on or off for this chat and its customer. Commits."""
    when = None if wanted else _now()
    if chat_id is not None:
        chat = db.session.get(TelegramChat, chat_id)
        if chat is None:
            chat = TelegramChat(chat_id=chat_id, notify="both")
            db.session.add(chat)
        chat.newsletters_off_at = when
    if user is not None:
        db.session.get(User, user.id).newsletters_off_at = when
    db.session.commit()


def unsubscribe_token(user_id: int) -> str:
    """The signed part of a mail's unsubscribe link: names the customer, cannot be forged."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT).dumps({"u": user_id})


def user_of_token(token: str) -> User | None:
    try:
        data = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT).loads(token)
    except BadSignature:
        return None
    user_id = data.get("u") if isinstance(data, dict) else None
    return db.session.get(User, user_id) if isinstance(user_id, int) else None


@dataclass
class ImportResult:
    imported: int = 0  # new subscribers (chats no customer holds) recorded
    customers: int = 0  # rows whose id is a customer's tg_id: nothing to record
    already: int = 0  # chats we knew, or a repeated row
    skipped: list[str] = field(default_factory=list)  # unreadable rows, quoted


def import_csv(text: str) -> ImportResult:
    """Bring in the old bot's `user_id,username` rows (header or not, empty usernames, repeats). Commits."""
    result, seen = ImportResult(), set()
    for number, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1):
        if not row or not "".join(row).strip():
            continue
        raw_id, username = row[0].strip(), (row[1].strip().lstrip("@") if len(row) > 1 else "")
        if not raw_id.lstrip("-").isdigit() or not 0 < abs(int(raw_id)) <= MAX_TG_ID:
            if number > 1 or raw_id.lower() not in ("user_id", "id", "userid"):
                result.skipped.append(f"line {number}: {','.join(row)[:80]!r}")
            continue
        tg_id = int(raw_id)
        if tg_id in seen:
            result.already += 1
            continue
        seen.add(tg_id)
        if db.session.scalar(select(User.id).where(User.tg_id == tg_id).limit(1)) is not None:
            result.customers += 1  # a customer already: their account holds the Telegram id
            continue
        chat = db.session.get(TelegramChat, tg_id)
        if chat is not None:
            chat.username = chat.username or username or None
            result.already += 1
            continue
        db.session.add(TelegramChat(chat_id=tg_id, username=username or None, notify="both", imported_at=_now()))
        result.imported += 1
    db.session.commit()
    return result


def _now() -> datetime:
    return datetime.now(timezone.utc)
