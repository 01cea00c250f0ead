"""Staff accounts as owners manage them: create, change role, deactivate.

Only an active owner gets here and never about themselves, so an active owner always remains.
"""
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import Staff, StaffTwoFactor
from oxnack_admin.models.enums import StaffRole
from oxnack_admin.services.staff import audit, two_factor
from oxnack_admin.services.staff.staff import StaffError, create_staff


def all_staff() -> list[Staff]:
    return list(db.session.scalars(select(Staff).order_by(Staff.active.desc(), Staff.email)))


def create(email: str, role: str, password: str, name: str | None, actor) -> Staff:
    staff = create_staff(email, role, password, name=name)
    audit.record(actor, "staff.create", "staff", staff.id, after=_snapshot(staff))
    return staff


def set_role(staff: Staff, role: str, actor) -> None:
    if role not in set(StaffRole):
        raise StaffError(f"role must be one of {', '.join(StaffRole)}")
    if staff.id == actor.id:
        raise StaffError("You cannot change your own role.")
    if staff.role == role:
        raise StaffError(f"{staff.email} is already {role}.")
    before = _snapshot(staff)
    staff.role = role
    audit.record(actor, "staff.set_role", "staff", staff.id, before=before, after=_snapshot(staff))


def set_active(staff: Staff, active: bool, actor) -> None:
    """Deactivating signs the account out at its next request (the loader refuses inactive staff)."""
    if staff.id == actor.id:
        raise StaffError("You cannot deactivate yourself.")
    if bool(staff.active) == active:
        raise StaffError(f"{staff.email} is already " + ("active." if active else "deactivated."))
    before = _snapshot(staff)
    staff.active = active
    if not active:
        staff.end_all_sessions()  # reactivation must not revive an old (possibly stolen) cookie
    audit.record(actor, "staff.activate" if active else "staff.deactivate", "staff", staff.id,
                 before=before, after=_snapshot(staff))


def reset_two_factor(staff: Staff, actor) -> None:
    """An owner resets another member's 2FA (a lost phone): they enrol again with a new secret."""
    if staff.id == actor.id:
        raise StaffError("You cannot reset your own two-factor sign-in; another owner or `flask reset-2fa` can.")
    if two_factor.enrolment_of(staff) is None:
        raise StaffError(f"{staff.email} has no two-factor sign-in to reset.")
    two_factor.reset(staff, actor)


def two_factor_states() -> dict[int, bool]:
    """Staff id → has confirmed 2FA, for the accounts table."""
    return {row.staff_id: row.is_confirmed for row in db.session.scalars(select(StaffTwoFactor))}


def _snapshot(staff: Staff) -> dict:
    return {"email": staff.email, "name": staff.name, "role": staff.role, "active": bool(staff.active)}
