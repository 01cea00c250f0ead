"""Staff API tokens: `flask create-token`, the bearer decorator's 401/403, revocation, deactivation, last use."""
import hashlib

import pytest
from flask import jsonify
from sqlalchemy import select, text

from oxnack_admin import create_app
from oxnack_admin.web.staff_api import current_api_staff, staff_token_required
from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, Staff, StaffApiToken
from oxnack_admin.services.staff import api_tokens
from tests.conftest import make_test_config
from tests.support.factories import make_staff

UNAUTHORIZED = {"status": "error", "message": "unauthorized"}
FORBIDDEN = {"status": "error", "message": "forbidden"}


@pytest.fixture
def probe(app, database_url, redis_url):
    """An app with two staff JSON calls behind the decorator: one for admins, one for owners."""
    probe_app = create_app(make_test_config(database_url, redis_url))

    @probe_app.get("/probe/admin")
    @staff_token_required()
    def admin_call():
        holder = current_api_staff()
        return jsonify(email=holder.email, role=holder.role)

    @probe_app.get("/probe/owner")
    @staff_token_required(min_role="owner")
    def owner_call():
        return jsonify(ok=True)

    client = probe_app.test_client()
    yield client
    with probe_app.app_context():
        db.session.remove()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def new_token(staff: Staff, name: str = "test") -> str:
    _, token = api_tokens.issue(staff, name)
    db.session.commit()
    return token


def test_create_token_prints_it_once_and_stores_only_its_hash(app, runner, probe):
    staff = make_staff("admin", email="ops@oxnack.test")
    result = runner.invoke(args=["create-token", "OPS@oxnack.test", "--name", "proxy sync cron"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("oxn_") and len(token) > 40 and "\n" not in token
    row = db.session.scalar(select(StaffApiToken))
    assert row.staff_id == staff.id and row.name == "proxy sync cron"
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = db.session.execute(text("SELECT * FROM staff_api_tokens")).mappings().one()
    assert token not in str(dict(stored))
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.create"))
    assert audit.actor == "system" and token not in str(audit.after)
    answer = probe.get("/probe/admin", headers=bearer(token))
    assert answer.status_code == 200 and answer.json == {"email": "ops@oxnack.test", "role": "admin"}


def test_create_token_refuses_unknown_and_deactivated_staff(app, runner):
    assert runner.invoke(args=["create-token", "nobody@oxnack.test"]).exit_code == 1
    staff = make_staff("admin", email="gone@oxnack.test")
    staff.active = False
    db.session.commit()
    result = runner.invoke(args=["create-token", "gone@oxnack.test"])
    assert result.exit_code == 1 and "deactivated" in result.output
    assert db.session.scalar(select(StaffApiToken)) is None


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Bearer oxn_not-a-real-token"},
    {"Authorization": "Basic b3BzOnB3"}, {"Authorization": "Bearer " + "x" * 5000},
    {"Authorization": "Bearer \u00e9t\u00e9"},
], ids=["none", "empty", "no-token", "unknown", "basic", "huge", "non-ascii"])
def test_no_valid_token_is_401(app, probe, headers):
    make_staff("owner")
    response = probe.get("/probe/admin", headers=headers)
    assert response.status_code == 401 and response.json == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_lower_role_is_403(app, probe):
    support = new_token(make_staff("support"))
    admin = new_token(make_staff("admin"))
    owner = new_token(make_staff("owner"))
    assert probe.get("/probe/admin", headers=bearer(support)).json == FORBIDDEN
    assert probe.get("/probe/admin", headers=bearer(support)).status_code == 403
    assert probe.get("/probe/admin", headers=bearer(admin)).status_code == 200
    assert probe.get("/probe/owner", headers=bearer(admin)).status_code == 403
    assert probe.get("/probe/owner", headers=bearer(owner)).status_code == 200
    assert probe.get("/probe/admin", headers=bearer(owner)).status_code == 200


def test_the_token_follows_its_owners_current_role(app, probe):
    staff = make_staff("admin")
    token = new_token(staff)
    assert probe.get("/probe/admin", headers=bearer(token)).status_code == 200
    staff.role = "support"
    db.session.commit()
    assert probe.get("/probe/admin", headers=bearer(token)).status_code == 403


def test_revoked_tokens_and_deactivated_staff_stop_working(app, probe):
    staff = make_staff("admin")
    kept, revoked = new_token(staff, "kept"), new_token(staff, "revoked")
    row = db.session.scalar(select(StaffApiToken).where(StaffApiToken.name == "revoked"))
    api_tokens.revoke(row, None)
    db.session.commit()
    assert probe.get("/probe/admin", headers=bearer(revoked)).json == UNAUTHORIZED
    assert probe.get("/probe/admin", headers=bearer(kept)).status_code == 200
    with pytest.raises(api_tokens.TokenError):
        api_tokens.revoke(row, None)
    staff.active = False
    db.session.commit()
    assert probe.get("/probe/admin", headers=bearer(kept)).status_code == 401


def test_last_use_is_recorded_at_most_once_a_minute(app, probe):
    token = new_token(make_staff("admin"))
    row = db.session.scalar(select(StaffApiToken))
    assert row.last_used_at is None
    probe.get("/probe/admin", headers=bearer(token))
    db.session.expire_all()
    first = db.session.get(StaffApiToken, row.id).last_used_at
    assert first is not None
    probe.get("/probe/admin", headers=bearer(token))
    db.session.expire_all()
    assert db.session.get(StaffApiToken, row.id).last_used_at == first  # no write per call
    db.session.execute(text("UPDATE staff_api_tokens SET last_used_at = now() - interval '2 minutes'"))
    db.session.commit()
    probe.get("/probe/admin", headers=bearer(token))
    db.session.expire_all()
    assert db.session.get(StaffApiToken, row.id).last_used_at > first


def test_bearer_header_parsing():
    assert api_tokens.bearer_token("Bearer abc") == "abc"
    assert api_tokens.bearer_token("bearer   abc ") == "abc"
    assert api_tokens.bearer_token("Token abc") is None
    assert api_tokens.bearer_token(None) is None
