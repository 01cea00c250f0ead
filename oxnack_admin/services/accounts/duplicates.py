"""Legacy accounts that share one e-mail address: which one logs in, and how staff settle them.

The old code neither normalized nor constrained `users.mail`, so an adopted database can hold
several accounts for one address (identical, or differing in case or surrounding spaces).
Adoption (migration 0006) keeps them all and lets exactly one log in by mail, in LOGIN_ORDER:
a verified account first, then one with a password, then the one that moved money last
(transaction ids grow with time), then the newest (highest id). The others carry
`duplicate_mail` until staff choose the account that keeps the address; the rest then get their
address moved aside into `legacy_mail` (their rows, money and servers stay as they are).
"""
from dataclasses import dataclass
from functools import cache
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased

from oxnack_admin.extensions import db
from oxnack_admin.models import Server, Transaction, User
from oxnack_admin.services.staff import audit

_KEY = func.lower(func.btrim(User.mail))
LOGIN_ORDER = "verified, then with a password, then the latest money movement, then the newest account"


class DuplicateError(ValueError):
    """The resolution does not apply (already resolved, or not one of the accounts); says why."""


@dataclass(frozen=True)
class Account:
    id: int
    mail: str
    username: str | None
    verified: bool
    has_password: bool
    logs_in: bool
    balance: Decimal
    servers: int
    last_transaction_id: int | None


@dataclass(frozen=True)
class DuplicateGroup:
    key: str  # the address as compared: lower-cased, trimmed
    accounts: list[Account]  # the one that logs in first


@cache  # built once: composing it costs more than running it on the users page
def _shared_keys():
    """Addresses (non-blank) that more than one account holds.

    uq_users_mail_lower allows one unflagged account per address, so every shared address has a
    flagged one: start from those few (ix_users_duplicate_mail_key) instead of grouping every customer.
    """
    flagged = (select(_KEY.label("key"), func.count().label("accounts"))
               .where(User.duplicate_mail, func.btrim(User.mail) != "").group_by(_KEY).subquery())
    other = aliased(User)
    unflagged_holder = (select(other.id).where(~other.duplicate_mail, func.btrim(other.mail) != "",
                                               func.lower(func.btrim(other.mail)) == flagged.c.key).exists())
    return select(flagged.c.key).where((flagged.c.accounts > 1) | unflagged_holder)


def count_groups() -> int:
    return db.session.scalar(select(func.count()).select_from(_shared_keys().subquery()))


def groups(limit: int = 200) -> list[DuplicateGroup]:
    """Every address more than one account holds, with what staff need to choose (first `limit`)."""
    shared = _shared_keys()
    keys = list(db.session.scalars(shared.order_by(shared.selected_columns.key).limit(limit)))
    if not keys:
        return []
    servers = (select(func.count()).select_from(Server)
               .where(Server.username == User.username, Server.busy.is_(True)).correlate(User).scalar_subquery())
    last = select(func.max(Transaction.id)).where(Transaction.user_id == User.id).correlate(User).scalar_subquery()
    rows = db.session.execute(
        select(User, _KEY.label("key"), servers.label("servers"), last.label("last"))
        .where(_KEY.in_(keys))
        .order_by(_KEY, User.duplicate_mail, func.coalesce(User.is_verified, False).desc(),
                  (func.coalesce(User.passwd_hash, "") != "").desc(), last.desc().nulls_last(), User.id.desc())
    ).all()
    grouped: dict[str, list[Account]] = {key: [] for key in keys}
    for user, key, server_count, last_id in rows:
        grouped[key].append(Account(user.id, user.mail, user.username, bool(user.is_verified),
                                    bool(user.passwd_hash), not user.duplicate_mail, user.balance or Decimal(0),
                                    server_count, last_id))
    return [DuplicateGroup(key, accounts) for key, accounts in grouped.items()]


def resolve(key: str, keeper_id: int, staff) -> list[int]:
    """`keeper_id` keeps the address and logs in by it; the others' address moves to legacy_mail.

    Returns the ids moved aside. Raises DuplicateError. Runs in the caller's transaction.
    """
    key = (key or "").strip().lower()
    accounts = list(db.session.scalars(select(User).where(_KEY == key, func.btrim(User.mail) != "")
                                       .order_by(User.id).with_for_update()))
    if len(accounts) < 2:
        raise DuplicateError(f"{key or 'That address'} is no longer shared by several accounts.")
    keeper = next((user for user in accounts if user.id == keeper_id), None)
    if keeper is None:
        raise DuplicateError(f"User {keeper_id} does not hold {key}.")
    before = [{"id": user.id, "mail": user.mail, "duplicate_mail": user.duplicate_mail} for user in accounts]
    others = [user.id for user in accounts if user.id != keeper_id]
    # Others first: the address is unique among accounts that log in, at every statement.
    db.session.execute(update(User).where(User.id.in_(others))
                       .values(legacy_mail=User.mail, mail=None, duplicate_mail=False))
    db.session.execute(update(User).where(User.id == keeper_id).values(duplicate_mail=False))
    for user in accounts:
        db.session.expire(user)
    audit.record(staff, "user.resolve_duplicate_mail", "user", keeper_id, before={"accounts": before},
                 after={"keeps_mail": keeper_id, "mail": keeper.mail, "moved_aside": others})
    return others
