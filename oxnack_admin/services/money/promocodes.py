"""Promocodes: a percent discount with an optional expiry, a total cap, a per-customer cap, an on/off switch.

An unknown, disabled, expired or used-up code is simply no discount, never an error: the old
site sends "NOT" when the field is empty and shows whatever price comes back.
"""
from datetime import datetime, timezone

from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import Promocode, PromocodeUse

NO_PROMO = {"", "NOT"}
MAX_PROMO_LENGTH = 64  # longer text cannot be a code; no lookup for it


def normalize(promo: str | None) -> str | None:
    """The code to look up, or None when the customer gave none."""
    if not isinstance(promo, str):
        return None
    promo = promo.strip()
    if promo.upper() in NO_PROMO or len(promo) > MAX_PROMO_LENGTH or not promo.isprintable():
        return None
    return promo


def is_active(promo: Promocode, now: datetime | None = None) -> bool:
    """Enabled, not expired, not used up, and worth something (ignores the per-customer cap)."""
    now = now or datetime.now(timezone.utc)
    return (bool(promo.enabled) and (promo.discount or 0) > 0
            and (promo.expires_at is None or promo.expires_at > now)
            and (promo.max_uses is None or (promo.uses or 0) < promo.max_uses))


def discount_for(promo: str | None) -> int:
    """Percent a code would take off right now, for price quotes (reads, never locks)."""
    code = normalize(promo)
    if code is None:
        return 0
    row = db.session.get(Promocode, code)
    return min(row.discount, 100) if row is not None and is_active(row) else 0


def lock_for_order(promo: str | None, user_id: int) -> Promocode | None:
    """The usable code for this customer's order, row-locked until the order commits, or None.

    The lock serializes every order using the code, so the total and per-customer caps hold
    under concurrency.
    """
    code = normalize(promo)
    if code is None:
        return None
    row = db.session.scalar(select(Promocode).where(Promocode.promo == code).with_for_update())
    if row is None or not is_active(row):
        return None
    if uses_by(row.promo, user_id) >= (row.per_user_limit if row.per_user_limit is not None else 1):
        return None
    return row


def uses_by(code: str, user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(PromocodeUse).where(
        PromocodeUse.promo == code, PromocodeUse.user_id == user_id))


def record_use(promo: Promocode, user_id: int, *, server_id: int | None, transaction_id: int | None) -> PromocodeUse:
    """Count one use of a code locked by `lock_for_order`, in the caller's transaction."""
    promo.uses = (promo.uses or 0) + 1
    use = PromocodeUse(promo=promo.promo, user_id=user_id, server_id=server_id,
                       transaction_id=transaction_id, discount=promo.discount)
    db.session.add(use)
    db.session.flush()
    return use
