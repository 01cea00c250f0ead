"""Staff two-factor sign-in: RFC 6238 codes, enrolment, the code after the password, replay, drift,
lockout, recovery codes, the owner's reset and `flask reset-2fa`, and the roles that must enrol."""
import base64
import hashlib
import re
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import select, text

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, StaffRecoveryCode, StaffTwoFactor
from oxnack_admin.services.staff import api_tokens, two_factor
from oxnack_admin.services.staff.two_factor import TwoFactorError, TwoFactorLocked
from tests.console.conftest import HTMX, STAFF_PASSWORD, forget_current_user, sign_in
from tests.support.factories import make_staff
from tests.support.two_factor import code, enrol

SHA1_SEED = base64.b32encode(b"12345678901234567890").decode()
SHA256_SEED = base64.b32encode(b"12345678901234567890123456789012").decode()
SHA512_SEED = base64.b32encode(b"1234567890" * 6 + b"1234").decode()
# RFC 6238 appendix B: (Unix time, SHA-1, SHA-256, SHA-512), 8 digits.
RFC_6238 = [(59, "94287082", "46119246", "90693936"), (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"), (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"), (20000000000, "65353130", "77737706", "47863826")]
NOW = 1_800_000_000.0  # a fixed moment for the service tests, 10 s into its 30 s step


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


@pytest.mark.parametrize("when, sha1, sha256, sha512", RFC_6238)
def test_codes_match_rfc_6238(when, sha1, sha256, sha512):
    step = when // 30
    assert two_factor.code_at(SHA1_SEED, step, digits=8) == sha1
    assert two_factor.code_at(SHA256_SEED, step, digits=8, digest=hashlib.sha256) == sha256
    assert two_factor.code_at(SHA512_SEED, step, digits=8, digest=hashlib.sha512) == sha512
    # Six digits are the same truncation modulo 10^6: the vector's last six digits.
    assert two_factor.code_at(SHA1_SEED, step) == sha1[-6:]


def test_a_code_is_accepted_once_and_an_older_one_never_after_it(app):
    staff = make_staff("admin")
    enrol(staff)
    two_factor.verify(staff, code(now=NOW), now=NOW)
    with pytest.raises(TwoFactorError, match="already used"):
        two_factor.verify(staff, code(now=NOW), now=NOW)
    with pytest.raises(TwoFactorError, match="already used"):
        two_factor.verify(staff, code(steps_from_now=-1, now=NOW), now=NOW)
    two_factor.verify(staff, code(steps_from_now=1, now=NOW), now=NOW)  # the next code is fine
    db.session.commit()


def test_one_step_of_drift_either_way_and_no_more(app):
    staff = make_staff("admin")
    enrol(staff)
    for steps, accepted in ((-2, False), (-1, True), (1, True), (2, False)):
        if accepted:
            two_factor.verify(staff, code(steps_from_now=steps, now=NOW), now=NOW)
        else:
            with pytest.raises(TwoFactorError, match="Wrong code"):
                two_factor.verify(staff, code(steps_from_now=steps, now=NOW), now=NOW)
    db.session.commit()


def test_five_wrong_codes_lock_every_code_for_fifteen_minutes(app):
    staff = make_staff("admin")
    enrol(staff)
    start = datetime(2027, 1, 15, 12, 0, 10, tzinfo=timezone.utc)
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            with pytest.raises(TwoFactorError):
                two_factor.verify(staff, "000000" if code() != "000000" else "111111")
            db.session.commit()
        with pytest.raises(TwoFactorLocked):
            two_factor.verify(staff, code())
        codes_left = db.session.scalar(select(StaffTwoFactor.locked_until))
        assert codes_left == start + timedelta(minutes=15)
    with time_machine.travel(start + timedelta(minutes=14, seconds=59), tick=False), pytest.raises(TwoFactorLocked):
        two_factor.use_recovery_code(staff, "whatever-code")
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        two_factor.verify(staff, code())
    db.session.commit()
    assert actions().count("staff.2fa_failed") == 5 and "staff.2fa_locked" in actions()


def test_console_enrolment_shows_a_qr_code_and_the_secret_then_recovery_codes_once(app, client):
    admin = make_staff("admin", email="new-admin@oxnack.test")
    sign_in(client, make_staff("support"))  # a support member may enrol too, without being sent
    forget_current_user()
    with client.session_transaction("/console/") as session:
        session["_user_id"] = admin.get_id()
    assert client.get("/console/users").headers["Location"] == "/console/two-factor"
    assert client.get("/console/users", headers=HTMX).headers["HX-Redirect"] == "/console/two-factor"
    forget_current_user()
    page = client.get("/console/two-factor").get_data(as_text=True)
    assert "<svg" in page and 'inputmode="numeric"' in page and 'autocomplete="one-time-code"' in page
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    stored = db.session.scalar(select(StaffTwoFactor.secret_sealed).where(StaffTwoFactor.staff_id == admin.id))
    assert secret not in stored and stored.startswith("sealed:v1:")
    # The page shown again keeps the same secret (the phone may have scanned it already).
    forget_current_user()
    assert secret in client.get("/console/two-factor").get_data(as_text=True).replace(" ", "")
    forget_current_user()
    assert client.post("/console/two-factor", data={"code": "123456" if code(secret) != "123456" else "654321"}).status_code == 422
    forget_current_user()
    shown = client.post("/console/two-factor", data={"code": code(secret)}).get_data(as_text=True)
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", shown)
    assert len(set(codes)) == 10
    hashes = list(db.session.scalars(select(StaffRecoveryCode.code_hash).where(StaffRecoveryCode.staff_id == admin.id)))
    assert len(hashes) == 10 and all(h.startswith("$argon2") for h in hashes)
    assert not any(c.replace("-", "") in h for c in codes for h in hashes)
    forget_current_user()
    assert client.get("/console/users").status_code == 200
    forget_current_user()
    again = client.get("/console/two-factor").get_data(as_text=True)
    assert "Unused recovery codes: <strong>10</strong>" in again and codes[0] not in again
    assert "staff.2fa_enrol" in actions()


def test_sign_in_asks_for_the_code_after_the_password(app, client):
    admin = make_staff("admin", email="coded@oxnack.test")
    enrol(admin)
    response = client.post("/console/login?next=/console/users", data={"email": admin.email, "password": STAFF_PASSWORD})
    assert response.headers["Location"] == "/console/login/code"
    forget_current_user()
    assert client.get("/console/").status_code == 302  # the password alone signs nobody in
    forget_current_user()
    page = client.get("/console/login/code").get_data(as_text=True)
    assert re.search(r'<input[^>]*autocomplete="one-time-code"[^>]*autofocus[^>]*inputmode="numeric"', page)
    forget_current_user()
    assert client.post("/console/login/code", data={"code": "abcdef"}).status_code == 422
    forget_current_user()
    response = client.post("/console/login/code", data={"code": code()})
    assert response.headers["Location"] == "/console/users"
    forget_current_user()
    assert client.get("/console/users").status_code == 200
    assert actions()[-1] == "staff.login"


def test_a_recovery_code_signs_in_once(app, client):
    admin = make_staff("owner")
    two_factor.pending_secret(admin)
    codes = two_factor.confirm_enrolment(admin, two_factor.code_at(two_factor.sealed.unseal(
        db.session.scalar(select(StaffTwoFactor.secret_sealed))), two_factor.current_step()))
    db.session.commit()
    for expected in (302, 422):
        forget_current_user()
        client.post("/console/login", data={"email": admin.email, "password": STAFF_PASSWORD})
        forget_current_user()
        response = client.post("/console/login/code", data={"recovery_code": codes[3].upper()})
        assert response.status_code == expected
        if expected == 302:
            client.post("/console/logout")
    assert "staff.2fa_recovery_used" in actions() and two_factor.unused_recovery_codes(admin) == 9


def test_an_owner_resets_another_members_2fa_and_they_enrol_again(app, client, runner):
    admin, owner = make_staff("admin"), make_staff("owner")
    enrol(admin)
    sign_in(client, admin)
    assert client.post(f"/console/staff/{owner.id}/reset-2fa", headers=HTMX).status_code == 403
    sign_in(client, owner)
    assert client.post(f"/console/staff/{owner.id}/reset-2fa", headers=HTMX).status_code == 409  # not oneself
    response = client.post(f"/console/staff/{admin.id}/reset-2fa", headers=HTMX)
    assert response.status_code == 200 and "reset" in response.headers["HX-Trigger"]
    db.session.expire_all()
    assert two_factor.enrolment_of(admin) is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "staff.2fa_reset"))
    assert event.staff_id == owner.id and event.target_id == str(admin.id)
    # The admin's old session ends; signing in again sends them to enrol.
    forget_current_user()
    client.post("/console/logout")
    forget_current_user()
    assert client.post("/console/login", data={"email": admin.email, "password": STAFF_PASSWORD}).status_code == 302
    forget_current_user()
    assert client.get("/console/").headers["Location"] == "/console/two-factor"


def test_flask_reset_2fa_for_a_locked_out_owner(app, runner):
    owner = make_staff("owner", email="locked-owner@oxnack.test")
    enrol(owner)
    result = runner.invoke(args=["reset-2fa", "LOCKED-owner@oxnack.test"])
    assert result.exit_code == 0, result.output
    assert db.session.execute(text("SELECT count(*) FROM staff_two_factor")).scalar() == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "staff.2fa_reset"))
    assert event.actor == "system" and event.target_id == str(owner.id)
    assert runner.invoke(args=["reset-2fa", "nobody@oxnack.test"]).exit_code != 0


def test_required_roles_come_from_the_setting(app_with):
    relaxed = app_with(STAFF_2FA_REQUIRED_ROLES=["owner"])
    with relaxed.app_context():
        admin = make_staff("admin")
        owner = make_staff("owner")
        client = relaxed.test_client()
        for member, sent_to_enrol in ((admin, False), (owner, True)):
            with client.session_transaction("/console/") as session:
                session["_user_id"] = member.get_id()
            forget_current_user()
            response = client.get("/console/users")
            assert (response.headers.get("Location") == "/console/two-factor") is sent_to_enrol


def test_api_tokens_do_not_need_a_second_factor(app, client):
    admin = make_staff("admin")
    _, token = api_tokens.issue(admin, "ci")
    db.session.commit()
    response = client.get("/debug/cache", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
