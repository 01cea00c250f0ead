"""Customer sessions: one row per signed-in device, keyed by the SHA-256 of the cookie token.

The token itself is only ever in the customer's cookie; a leaked `sessions` table opens nothing.
"""
import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import bindparam, delete, select, update

from ..extensions import db
from ..models import User, UserSession

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


def customer_for_token(token: str | None) -> User | None:
    """The signed-in, unblocked customer for a cookie token, or None. One indexed query."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isprintable():
        return None
    user = _user_by_session(token)
    if user is None:
        user = _adopt_legacy_cookie(token)
    return user


# Built once: constructing the statement per request cost more than running it.
_SESSION_LOOKUP = (
    select(User, UserSession.id, UserSession.last_seen_at)
    .join(UserSession, UserSession.user_id == User.id)
    .where(UserSession.token_hash == bindparam("token_hash"), UserSession.expires_at > bindparam("now"),
           User.blocked_at.is_(None))
)
_TOUCH_SESSION = update(UserSession).where(UserSession.id == bindparam("session_id")).values(
    last_seen_at=bindparam("now"))


def _user_by_session(token: str) -> User | None:
    now = datetime.now(timezone.utc)
    row = db.session.execute(_SESSION_LOOKUP, {"token_hash": hash_token(token), "now": now}).first()
    if row is None:
        return None
    user, session_id, last_seen_at = row
    if now - last_seen_at >= LAST_SEEN_RESOLUTION:
        # A connection of its own: committing the ORM session would expire `user` and reload it.
        with db.engine.begin() as connection:
            connection.execute(_TOUCH_SESSION, {"session_id": session_id, "now": now})
    return user


def _adopt_legacy_cookie(token: str) -> User | None:
    """An imported user's old `users.cookie` works once more, then lives on as a hashed session."""
    user_id = db.session.execute(
        update(User).where(User.cookie == token, User.blocked_at.is_(None)).values(cookie=None)
        .returning(User.id)
    ).scalar_one_or_none()
    if user_id is None:
        # A concurrent request may have just moved this very cookie into `sessions`.
        return _user_by_session(token)
    db.session.add(UserSession(user_id=user_id, token_hash=hash_token(token),
                               expires_at=datetime.now(timezone.utc) + lifetime()))
    db.session.commit()
    return db.session.get(User, user_id)


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
