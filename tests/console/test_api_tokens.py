"""The console's API tokens page: create (shown once), list with last use, revoke; owners see everyone's."""
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, StaffApiToken
from oxnack_admin.services.staff import api_tokens
from tests.console.conftest import HTMX
from tests.support.factories import make_staff


def test_an_admin_creates_a_token_that_is_shown_once(app, client, admin):
    response = client.post("/console/tokens", data={"name": "stats dashboard"}, headers=HTMX)
    assert response.status_code == 200 and "copy it now" in response.headers["HX-Trigger"]
    page = response.get_data(as_text=True)
    row = db.session.scalar(select(StaffApiToken))
    assert row.staff_id == admin.id and row.name == "stats dashboard"
    token = page.split('id="new-token-value" class="token-value" type="text" readonly value="')[1].split('"')[0]
    assert api_tokens.holder_of(token).staff_id == admin.id
    listing = client.get("/console/tokens").get_data(as_text=True)
    assert "stats dashboard" in listing and row.prefix in listing and token not in listing
    assert "never" in listing  # not used yet
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.create"))
    assert event.staff_id == admin.id and token not in str(event.after)


def test_a_too_long_name_is_refused_beside_the_field(app, client, admin):
    response = client.post("/console/tokens", data={"name": "x" * 300}, headers=HTMX)
    assert response.status_code == 422
    assert db.session.scalar(select(StaffApiToken)) is None


def test_revoke_own_token_and_not_someone_elses(app, client, admin):
    mine, _ = api_tokens.issue(admin, "mine")
    theirs, _ = api_tokens.issue(make_staff("admin", email="other@oxnack.test"), "theirs")
    db.session.commit()
    page = client.get("/console/tokens").get_data(as_text=True)
    assert "mine" in page and "theirs" not in page
    assert client.post(f"/console/tokens/{theirs.id}/revoke", headers=HTMX).status_code == 404
    response = client.post(f"/console/tokens/{mine.id}/revoke", headers=HTMX)
    assert response.status_code == 200 and "revoked" in response.headers["HX-Trigger"]
    assert client.post(f"/console/tokens/{mine.id}/revoke", headers=HTMX).status_code == 409
    db.session.expire_all()
    assert db.session.get(StaffApiToken, mine.id).revoked_at is not None
    assert db.session.get(StaffApiToken, theirs.id).revoked_at is None
    assert [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "api_token.revoke"))] == ["api_token.revoke"]


def test_an_owner_sees_and_revokes_every_token(app, client, as_role):
    as_role("owner")
    theirs, _ = api_tokens.issue(make_staff("admin", email="other@oxnack.test"), "theirs")
    db.session.commit()
    page = client.get("/console/tokens").get_data(as_text=True)
    assert "theirs" in page and "other@oxnack.test" in page
    assert client.post(f"/console/tokens/{theirs.id}/revoke", headers=HTMX).status_code == 200


def test_support_has_no_tokens_page(app, client, as_role):
    as_role("support")
    assert client.get("/console/tokens").status_code == 403
    assert "API tokens</a>" not in client.get("/console/").get_data(as_text=True)
