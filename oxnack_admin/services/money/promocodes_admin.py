"""Promocodes as staff manage them: list, create, edit, switch on and off, see who used them."""
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import or_, select

from oxnack_admin.extensions import db
from oxnack_admin.models import Promocode, PromocodeUse, User
from oxnack_admin.services.staff import audit
from oxnack_admin.services.money import promocodes
from oxnack_admin.services.paging import ListParams, Page, like_escape, paginate

SORTS = {"promo": Promocode.promo, "discount": (Promocode.discount, Promocode.promo),
         "uses": (Promocode.uses, Promocode.promo), "expires": (Promocode.expires_at, Promocode.promo),
         "created": (Promocode.created_at, Promocode.promo)}
FILTERS = ("state",)
EDITABLE = ("discount", "expires_at", "max_uses", "per_user_limit", "enabled")


class PromocodeError(ValueError):
    """The promocode cannot be saved as given; the message says why."""


@dataclass(frozen=True)
class PromocodeValues:
    discount: int
    expires_at: datetime | None
    max_uses: int | None
    per_user_limit: int
    enabled: bool = True


def search(params: ListParams, now: datetime | None = None) -> Page:
    now = now or datetime.now(timezone.utc)
    statement = select(Promocode)
    if params.q:
        statement = statement.where(Promocode.promo.ilike(f"%{like_escape(params.q)}%", escape="\\"))
    state = params.filters.get("state")
    if state == "disabled":
        statement = statement.where(Promocode.enabled.is_(False))
    elif state == "expired":
        statement = statement.where(Promocode.expires_at <= now)
    elif state == "active":
        statement = statement.where(Promocode.enabled.is_(True),
                                    or_(Promocode.expires_at.is_(None), Promocode.expires_at > now),
                                    or_(Promocode.max_uses.is_(None), Promocode.uses < Promocode.max_uses))
    return paginate(statement, params, SORTS)


def is_reserved(code: str) -> bool:
    """Codes the order form treats as "no promocode" can never be created."""
    return promocodes.normalize(code) is None


def exists(code: str) -> bool:
    return db.session.scalar(select(Promocode.promo).where(Promocode.promo == code)) is not None


def create(code: str, values: PromocodeValues, staff) -> Promocode:
    code = code.strip()
    if is_reserved(code):
        raise PromocodeError("The order form reads this text as no promocode at all.")
    if exists(code):
        raise PromocodeError(f"{code} exists already.")
    promo = Promocode(promo=code, uses=0, **_columns(values))
    db.session.add(promo)
    db.session.flush()
    audit.record(staff, "promocode.create", "promocode", code, after=snapshot(promo))
    return promo


def update(promo: Promocode, values: PromocodeValues, staff) -> Promocode:
    before = snapshot(promo)
    for column, value in _columns(values).items():
        setattr(promo, column, value)
    db.session.flush()
    audit.record(staff, "promocode.update", "promocode", promo.promo, before=before, after=snapshot(promo))
    return promo


def set_enabled(promo: Promocode, enabled: bool, staff) -> None:
    if bool(promo.enabled) == enabled:
        raise PromocodeError("The promocode is already " + ("enabled." if enabled else "disabled."))
    before = snapshot(promo)
    promo.enabled = enabled
    audit.record(staff, "promocode.enable" if enabled else "promocode.disable", "promocode", promo.promo,
                 before=before, after=snapshot(promo))


def uses_of(promo: Promocode, limit: int = 200) -> list[tuple[PromocodeUse, str | None]]:
    """The newest uses with the customer's e-mail."""
    return list(db.session.execute(
        select(PromocodeUse, User.mail).outerjoin(User, User.id == PromocodeUse.user_id)
        .where(PromocodeUse.promo == promo.promo).order_by(PromocodeUse.id.desc()).limit(limit)))


def status(promo: Promocode) -> str:
    """"active", "disabled", "expired" or "used up", for the badge."""
    if promocodes.is_active(promo):
        return "active"
    if not promo.enabled:
        return "disabled"
    if promo.expires_at is not None and promo.expires_at <= datetime.now(timezone.utc):
        return "expired"
    if promo.max_uses is not None and (promo.uses or 0) >= promo.max_uses:
        return "used up"
    return "inactive"


def snapshot(promo: Promocode) -> dict:
    return {column: (value.isoformat() if isinstance(value, datetime) else value)
            for column in EDITABLE for value in [getattr(promo, column)]}


def _columns(values: PromocodeValues) -> dict:
    return {"discount": values.discount, "expires_at": values.expires_at, "max_uses": values.max_uses,
            "per_user_limit": values.per_user_limit, "enabled": values.enabled}
