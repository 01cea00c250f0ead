"""Customer sessions: one row per signed-in device, keyed by the SHA-256 of the cookie token.

The token itself is only ever in the customer's cookie; a leaked `sessions` table opens nothing.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from flask import current_app
from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import aliased

from oxnack_admin.extensions import autocommit, db
from oxnack_admin.models import User, UserSession

COOKIE_NAME = "session_id"
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 256  # anything longer is not ours (nor a legacy cookie): no query for it
# last_seen_at is for the console ("active 3 minutes ago"), not security: one write a minute is plenty.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lifetime() -> timedelta:
    return timedelta(days=current_app.config["CUSTOMER_SESSION_DAYS"])


def start_session(user: User, *, ip: str | None = None, user_agent: str | None = None) -> str:
    """Open a session for `user` in the caller's transaction; returns the cookie token."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.session.add(UserSession(user_id=user.id, token_hash=hash_token(token),
                               expires_at=datetime.now(timezone.utc) + lifetime(),
                               ip=ip, user_agent=(user_agent or "").replace("\x00", "")[:300] or None))
    db.session.flush()
    return token


@dataclass(frozen=True, slots=True)
class Customer:
    """The signed-in customer as of this request, for reading; views that change them load `User` by id."""

    id: int
    username: str | None
    mail: str | None
    balance: Decimal | None
    date_start: str | None  # legacy 'dd.mm.yyyy'
    date_stop: str | None

    @classmethod
    def of(cls, user: User) -> "Customer":
        return cls(user.id, user.username, user.mail, user.balance, user.date_start, user.date_stop)


def plausible_token(token: str | None) -> bool:
    """Could this cookie be one of ours (or a legacy one)? Anything else costs no query."""
    return bool(token) and len(token) <= MAX_TOKEN_LENGTH and token.isprintable()


def customer_for_token(token: str | None) -> Customer | None:
    """The signed-in, unblocked customer for a cookie token, or None. One indexed query."""
    if not plausible_token(token):
        return None
    return session_customer(token) or adopt_legacy_cookie(token)


def session_customer(token: str) -> Customer | None:
    """customer_for_token() of a plausible token, without adopting a legacy cookie (reads only)."""
    rows = autocommit.fetch("oxnack_session_lookup", SESSION_LOOKUP, (hash_token(token),))
    return customer_from(rows[0]) if rows else None


# Plain SQL on the autocommit pool, prepared once per connection: this runs on nearly every
# request, and the ORM's loading, the transaction's BEGIN/ROLLBACK round trips and planning
# cost several times the query itself. The database's clock decides expiry and staleness: no
# timestamps to adapt or parse in Python. $1 is the token's hash. The pieces are public so a
# hot read can fetch the customer and its own rows in the same statement (customer_servers).
SESSION_COLUMNS = (
    "users.id, users.username, users.mail, users.balance, users.date_start, users.date_stop,"
    f" sessions.id, sessions.last_seen_at <= now() - interval '{int(LAST_SEEN_RESOLUTION.total_seconds())} seconds'"
)
SESSION_COLUMN_COUNT = 8
SESSION_FROM = "users JOIN sessions ON sessions.user_id = users.id"
SESSION_WHERE = "sessions.token_hash = $1 AND sessions.expires_at > now() AND users.blocked_at IS NULL"
SESSION_LOOKUP = f"SELECT {SESSION_COLUMNS} FROM {SESSION_FROM} WHERE {SESSION_WHERE}"
_TOUCH_SESSION = "UPDATE sessions SET last_seen_at = now() WHERE id = %s"


def customer_from(row: tuple) -> Customer:
    """The Customer of a row that starts with SESSION_COLUMNS; notes the visit at most once a minute."""
    *fields, session_id, seen_long_ago = row[:SESSION_COLUMN_COUNT]
    if seen_long_ago:
        autocommit.run(_TOUCH_SESSION, (session_id,))
    return Customer(*fields)


def adopt_legacy_cookie(token: str) -> Customer | None:
    """An imported user's old `users.cookie` works once more, then lives on as a hashed session."""
    # A legacy cookie two users share (old data allows it) identifies nobody: it is not adopted.
    sharer = aliased(User)
    shared = exists().where(sharer.cookie == token, sharer.id != User.id)
    user_id = db.session.execute(
        update(User).where(User.cookie == token, User.blocked_at.is_(None), ~shared).values(cookie=None)
        .returning(User.id)
    ).scalar_one_or_none()
    if user_id is None:
        # A concurrent request may have just moved this very cookie into `sessions`.
        return session_customer(token)
    db.session.add(UserSession(user_id=user_id, token_hash=hash_token(token),
                               expires_at=datetime.now(timezone.utc) + lifetime()))
    db.session.commit()
    return Customer.of(db.session.get(User, user_id))


def end_all_sessions(user_id: int) -> int:
    """Sign a customer out everywhere (and void an unused legacy cookie); returns sessions ended."""
    ended = db.session.execute(delete(UserSession).where(UserSession.user_id == user_id)).rowcount
    db.session.execute(update(User).where(User.id == user_id, User.cookie.is_not(None)).values(cookie=None))
    return ended


def end_session(token: str) -> bool:
    """Sign one device out."""
    return bool(db.session.execute(delete(UserSession).where(UserSession.token_hash == hash_token(token))).rowcount)


def active_sessions(user_id: int) -> list[UserSession]:
    """A customer's unexpired sessions, newest activity first (for the console)."""
    return list(db.session.scalars(
        select(UserSession).where(UserSession.user_id == user_id, UserSession.expires_at > datetime.now(timezone.utc))
        .order_by(UserSession.last_seen_at.desc())))


def purge_expired_sessions() -> int:
    """Delete expired session rows (for a periodic job); returns how many."""
    return db.session.execute(delete(UserSession).where(UserSession.expires_at <= datetime.now(timezone.utc))).rowcount
