"""Staff two-factor sign-in with TOTP (RFC 6238: 6 digits, 30 s, one step of drift either way).

pyotp computes the codes (a small, well-kept library that the RFC's vectors test; one place
fewer to get HMAC truncation wrong); the rules are here: a secret sealed at rest, a code
accepted once, recovery codes hashed and single-use, and a lock after repeated wrong codes.
Every check takes the member's row FOR UPDATE, so two requests racing with one code accept it
once and count failures exactly.
"""
import secrets
import time
from datetime import datetime, timedelta, timezone

import pyotp
from flask import current_app
from sqlalchemy import delete, select

from oxnack_admin.extensions import db
from oxnack_admin.models import Staff, StaffRecoveryCode, StaffTwoFactor
from oxnack_admin.services import sealed
from oxnack_admin.services.accounts.passwords import hash_password, verify_password
from oxnack_admin.services.staff import audit

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


class TwoFactorError(ValueError):
    """A code was refused; the message says why, fit to show the member."""


class TwoFactorLocked(TwoFactorError):
    """Too many wrong codes: no code, recovery codes included, is checked until `until`."""

    def __init__(self, until: datetime):
        super().__init__(f"Too many wrong codes: two-factor sign-in is locked until {until:%H:%M} UTC.")
        self.until = until


def code_at(secret: str, step: int, digits: int = DIGITS, digest=None) -> str:
    """The TOTP code of time step `step` (RFC 6238's T)."""
    kwargs = {"digest": digest} if digest else {}
    return pyotp.TOTP(secret, digits=digits, interval=STEP_SECONDS, **kwargs).at(step * STEP_SECONDS)


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def required_for(staff: Staff) -> bool:
    """Must this member have 2FA before using the console (STAFF_2FA_REQUIRED_ROLES)?"""
    return staff.role in set(current_app.config["STAFF_2FA_REQUIRED_ROLES"])


def enrolment_of(staff: Staff, for_update: bool = False) -> StaffTwoFactor | None:
    query = select(StaffTwoFactor).where(StaffTwoFactor.staff_id == staff.id)
    return db.session.scalar(query.with_for_update() if for_update else query)


def is_enrolled(staff: Staff) -> bool:
    found = enrolment_of(staff)
    return found is not None and found.is_confirmed


def needs_enrolment(staff: Staff) -> bool:
    return required_for(staff) and not is_enrolled(staff)


def pending_secret(staff: Staff) -> str:
    """The secret to enrol with: the unconfirmed one already shown, or a new one (never a confirmed one)."""
    found = enrolment_of(staff, for_update=True)
    if found is not None and found.is_confirmed:
        raise TwoFactorError("Two-factor sign-in is already set up; an owner can reset it.")
    secret = sealed.unseal(found.secret_sealed) if found is not None else None
    if secret is None:
        secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
        if found is None:
            found = StaffTwoFactor(staff_id=staff.id)
            db.session.add(found)
        found.secret_sealed = sealed.seal(secret)
        db.session.flush()
    return secret


def provisioning_uri(staff: Staff, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    issuer = current_app.config["STAFF_2FA_ISSUER"]
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=staff.email, issuer_name=issuer)


def confirm_enrolment(staff: Staff, code: str, now: float | None = None) -> list[str]:
    """Turn 2FA on with a first code; returns the recovery codes (shown once, stored hashed)."""
    found = enrolment_of(staff, for_update=True)
    if found is None or found.is_confirmed:
        raise TwoFactorError("Start again: open the set-up page to get a secret.")
    secret = sealed.unseal(found.secret_sealed)
    step = _matching_step(secret, code, now)
    if step is None:
        raise TwoFactorError("That code does not match; check the phone's clock and try the next code.")
    found.confirmed_at = datetime.now(timezone.utc)
    found.last_step, found.failures, found.locked_until = step, 0, None
    codes = _new_recovery_codes(staff)
    audit.record(staff, "staff.2fa_enrol", "staff", staff.id)
    return codes


def verify(staff: Staff, code: str, now: float | None = None) -> None:
    """Accept a TOTP code once, or raise TwoFactorError (wrong, replayed) / TwoFactorLocked."""
    found = _confirmed_for_update(staff)
    step = _matching_step(sealed.unseal(found.secret_sealed), code, now)
    if step is not None and found.last_step is not None and step <= found.last_step:
        _failed(staff, found, "replay")
        raise TwoFactorError("That code was already used; wait for the next one.")
    if step is None:
        _failed(staff, found, "wrong code")
        raise TwoFactorError("Wrong code.")
    found.last_step, found.failures = step, 0


def use_recovery_code(staff: Staff, code: str) -> None:
    """Accept an unused recovery code once (it is then spent), or raise as verify() does."""
    found = _confirmed_for_update(staff)
    wanted = _normalise_recovery(code)
    for row in db.session.scalars(select(StaffRecoveryCode).where(
            StaffRecoveryCode.staff_id == staff.id, StaffRecoveryCode.used_at.is_(None)).with_for_update()):
        if wanted and verify_password(row.code_hash, wanted)[0]:
            row.used_at = datetime.now(timezone.utc)
            found.failures = 0
            audit.record(staff, "staff.2fa_recovery_used", "staff", staff.id)
            return
    _failed(staff, found, "wrong recovery code")
    raise TwoFactorError("Wrong or already used recovery code.")


def unused_recovery_codes(staff: Staff) -> int:
    return len(db.session.scalars(select(StaffRecoveryCode.id).where(
        StaffRecoveryCode.staff_id == staff.id, StaffRecoveryCode.used_at.is_(None))).all())


def reset(staff: Staff, actor) -> None:
    """Forget the member's 2FA (an owner's action, or `flask reset-2fa`): they enrol again with a new secret."""
    had = enrolment_of(staff, for_update=True) is not None
    db.session.execute(delete(StaffTwoFactor).where(StaffTwoFactor.staff_id == staff.id))
    db.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff.id))
    staff.end_all_sessions()  # whoever holds a session made with the old factor is signed out
    audit.record(actor, "staff.2fa_reset", "staff", staff.id, before={"enrolled": had}, after={"enrolled": False})


def _confirmed_for_update(staff: Staff) -> StaffTwoFactor:
    found = enrolment_of(staff, for_update=True)
    if found is None or not found.is_confirmed:
        raise TwoFactorError("Two-factor sign-in is not set up for this account.")
    if found.locked_until is not None and found.locked_until > datetime.now(timezone.utc):
        raise TwoFactorLocked(found.locked_until)
    return found


def _failed(staff: Staff, found: StaffTwoFactor, why: str) -> None:
    """Count a refused code; the limit locks every code for STAFF_2FA_LOCK_MINUTES (the caller commits)."""
    found.failures = (found.failures or 0) + 1
    audit.record(staff, "staff.2fa_failed", "staff", staff.id, after={"reason": why, "failures": found.failures})
    if found.failures >= current_app.config["STAFF_2FA_MAX_FAILURES"]:
        found.locked_until = datetime.now(timezone.utc) + timedelta(minutes=current_app.config["STAFF_2FA_LOCK_MINUTES"])
        found.failures = 0
        audit.record(staff, "staff.2fa_locked", "staff", staff.id, after={"until": found.locked_until.isoformat()})


def _matching_step(secret: str | None, code: str, now: float | None) -> int | None:
    """The step within the drift window whose code this is, or None."""
    code = (code or "").strip().replace(" ", "")
    if secret is None or len(code) != DIGITS or not code.isdigit():
        return None
    here = current_step(now)
    for step in range(here - DRIFT_STEPS, here + DRIFT_STEPS + 1):
        if secrets.compare_digest(code_at(secret, step), code):
            return step
    return None


def _new_recovery_codes(staff: Staff) -> list[str]:
    db.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(StaffRecoveryCode(staff_id=staff.id, code_hash=hash_password(raw)))
    return codes


def _normalise_recovery(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())
