"""Staff accounts: creation and sign-in checks shared by the CLI and the console."""
from datetime import datetime, timezone

from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import Staff
from oxnack_admin.models.enums import StaffRole
from oxnack_admin.services.accounts.passwords import hash_password, verify_password

MIN_STAFF_PASSWORD = 10


class StaffError(ValueError):
    """A staff account cannot be created or changed as asked; the message says why."""


def create_staff(email: str, role: str, password: str, name: str | None = None) -> Staff:
    email = email.strip().lower()
    if "@" not in email:
        raise StaffError("an e-mail address is required")
    if role not in set(StaffRole):
        raise StaffError(f"role must be one of {', '.join(StaffRole)}")
    if len(password) < MIN_STAFF_PASSWORD:
        raise StaffError(f"the password needs at least {MIN_STAFF_PASSWORD} characters")
    if db.session.scalar(select(Staff.id).where(func.lower(Staff.email) == email)):
        raise StaffError(f"{email} already has a staff account")
    staff = Staff(email=email, role=role, password_hash=hash_password(password), name=name)
    db.session.add(staff)
    db.session.flush()
    return staff


def authenticate(email: str, password: str) -> Staff | None:
    """The active staff account with these credentials, or None."""
    staff = db.session.scalar(select(Staff).where(func.lower(Staff.email) == email.strip().lower()))
    if staff is None or not staff.active:
        return None
    matches, new_hash = verify_password(staff.password_hash, password)
    if not matches:
        return None
    if new_hash:
        staff.password_hash = new_hash
    staff.last_login_at = datetime.now(timezone.utc)
    return staff


def change_password(staff: Staff, new_password: str) -> None:
    """A new password ends every console session of the member (the caller re-signs in its own)."""
    if len(new_password) < MIN_STAFF_PASSWORD:
        raise StaffError(f"the password needs at least {MIN_STAFF_PASSWORD} characters")
    staff.password_hash = hash_password(new_password)
    staff.end_all_sessions()
