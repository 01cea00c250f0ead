"""Staff enrolled in two-factor sign-in without the console's round trips (and without recovery codes)."""
from datetime import datetime, timezone

from oxnack_admin.extensions import db
from oxnack_admin.models import Staff, StaffTwoFactor
from oxnack_admin.services import sealed
from oxnack_admin.services.staff import two_factor

TEST_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def enrol(staff: Staff, secret: str = TEST_SECRET) -> str:
    """Turn 2FA on for `staff` with `secret` (no code used yet); returns the secret."""
    db.session.merge(StaffTwoFactor(staff_id=staff.id, secret_sealed=sealed.seal(secret),
                                    confirmed_at=datetime.now(timezone.utc), failures=0))
    db.session.commit()
    return secret


def code(secret: str = TEST_SECRET, steps_from_now: int = 0, now: float | None = None) -> str:
    """The code an authenticator app shows `steps_from_now` steps of 30 s from now."""
    return two_factor.code_at(secret, two_factor.current_step(now) + steps_from_now)


def forget_used_codes(staff: Staff) -> None:
    """Let the current code be used again, as at a later sign-in (helpers signing in several times a step)."""
    found = two_factor.enrolment_of(staff)
    found.last_step = None
    db.session.commit()
