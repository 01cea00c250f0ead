"""Staff API tokens: issued once, stored as SHA-256, revocable; a token acts with its owner's current role.

The token is a 256-bit random secret, so its SHA-256 is a safe lookup key (no salt or slow hash
needed): a leaked table opens nothing, and guessing is hopeless.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from oxnack_admin.extensions import autocommit, db
from oxnack_admin.models import Staff, StaffApiToken
from oxnack_admin.models.enums import StaffRole
from oxnack_admin.models.staff import role_at_least
from oxnack_admin.services.staff import audit

TOKEN_PREFIX = "oxn_"
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 200  # anything longer is not one of ours: no query for it
MAX_NAME_LENGTH = 100
SHOWN_PREFIX = len(TOKEN_PREFIX) + 6
# last_used_at is for the console ("used 3 minutes ago"): one write a minute per token is plenty.
LAST_USED_RESOLUTION_SECONDS = 60


class TokenError(ValueError):
    """A token cannot be issued or revoked as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class TokenHolder:
    """The staff member a valid token acts for, as of this request."""

    token_id: int
    staff_id: int
    email: str
    role: str

    def has_role(self, needed: StaffRole | str) -> bool:
        return role_at_least(self.role, needed)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(staff: Staff, name: str | None, actor=None) -> tuple[StaffApiToken, str]:
    """A new token for an active staff member, in the caller's transaction; the plain token is returned only here."""
    if not staff.active:
        raise TokenError(f"{staff.email} is deactivated; a token for them would not work.")
    name = (name or "").strip() or "API token"
    if len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise TokenError(f"The name must be printable and at most {MAX_NAME_LENGTH} characters.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    row = StaffApiToken(staff_id=staff.id, name=name, token_hash=hash_token(token), prefix=token[:SHOWN_PREFIX])
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "api_token.create", "api_token", row.id,
                 after={"staff": staff.email, "name": name, "prefix": row.prefix})
    return row, token


def revoke(row: StaffApiToken, actor) -> None:
    """Revoked tokens stop working at once and stay listed, so their last use remains visible."""
    if row.revoked_at is not None:
        raise TokenError(f"Token {row.prefix}… is already revoked.")
    row.revoked_at = datetime.now(timezone.utc)
    audit.record(actor, "api_token.revoke", "api_token", row.id,
                 before={"staff": row.staff.email, "name": row.name, "prefix": row.prefix, "revoked": False},
                 after={"revoked": True})


def may_manage(viewer: Staff, row: StaffApiToken) -> bool:
    """Staff manage their own tokens; owners manage everyone's."""
    return row.staff_id == viewer.id or viewer.has_role(StaffRole.OWNER)


def visible_tokens(viewer: Staff) -> list[StaffApiToken]:
    """The tokens a staff member may see: their own, or every token for an owner. Live ones first."""
    statement = select(StaffApiToken).join(StaffApiToken.staff)
    if not viewer.has_role(StaffRole.OWNER):
        statement = statement.where(StaffApiToken.staff_id == viewer.id)
    return list(db.session.scalars(statement.order_by(StaffApiToken.revoked_at.is_not(None), Staff.email,
                                                      StaffApiToken.created_at.desc())))


# Plain SQL on the autocommit pool, prepared once per connection like the customer session lookup:
# one indexed query per call, and the database's clock decides when last_used_at is stale enough to write.
_LOOKUP = (
    "SELECT t.id, s.id, s.email, s.role,"
    f" t.last_used_at IS NULL OR t.last_used_at <= now() - interval '{LAST_USED_RESOLUTION_SECONDS} seconds'"
    " FROM staff_api_tokens t JOIN staff s ON s.id = t.staff_id"
    " WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND s.active"
)
_TOUCH = "UPDATE staff_api_tokens SET last_used_at = now() WHERE id = %s"


def holder_of(token: str | None) -> TokenHolder | None:
    """The active staff member a live token belongs to, or None; records the token's use."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii() or not token.isprintable():
        return None
    rows = autocommit.fetch("oxnack_staff_token_lookup", _LOOKUP, (hash_token(token),))
    if not rows:
        return None
    token_id, staff_id, email, role, stale = rows[0]
    if stale:
        autocommit.run(_TOUCH, (token_id,))
    return TokenHolder(token_id, staff_id, email, role)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
