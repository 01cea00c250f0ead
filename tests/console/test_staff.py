"""Staff accounts, owners only: create, change role, deactivate; the last owner stays."""
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, Staff
from oxnack_admin.services.staff.staff import authenticate
from tests.console.conftest import HTMX, sign_in
from tests.support.factories import make_staff


def test_an_owner_creates_a_staff_account(app, client, as_role):
    owner = as_role("owner")
    response = client.post("/console/staff", data={"email": "New@Oxnack.test", "name": "Nina", "role": "admin",
                                                   "password": "initial-pass-1"}, headers=HTMX)
    assert response.status_code == 200 and "new@oxnack.test (admin) created" in response.headers["HX-Trigger"]
    created = authenticate("new@oxnack.test", "initial-pass-1")
    assert created is not None and created.role == "admin" and created.name == "Nina"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "staff.create"))
    assert event.staff_id == owner.id and event.after["role"] == "admin" and "password" not in str(event.after)
    duplicate = client.post("/console/staff", data={"email": "new@oxnack.test", "role": "support",
                                                    "password": "initial-pass-1"}, headers=HTMX)
    assert duplicate.status_code == 422 and "already has a staff account" in duplicate.get_data(as_text=True)
    weak = client.post("/console/staff", data={"email": "w@oxnack.test", "role": "support", "password": "short"},
                       headers=HTMX)
    assert weak.status_code == 422 and "between 10 and 200 characters" in weak.get_data(as_text=True)


def test_roles_and_deactivation(app, client, as_role):
    owner = as_role("owner")
    member = make_staff("support", email="member@oxnack.test")
    assert client.post(f"/console/staff/{member.id}/role", data={"role": "admin"}, headers=HTMX).status_code == 200
    db.session.expire_all()
    assert db.session.get(Staff, member.id).role == "admin"
    assert client.post(f"/console/staff/{member.id}/role", data={"role": "god"}, headers=HTMX).status_code == 409
    assert client.post(f"/console/staff/{owner.id}/role", data={"role": "support"}, headers=HTMX).status_code == 409
    assert client.post(f"/console/staff/{owner.id}/deactivate", headers=HTMX).status_code == 409
    assert client.post(f"/console/staff/{member.id}/deactivate", headers=HTMX).status_code == 200
    # The deactivated member is signed out at once.
    sign_in(client, member)
    assert client.get("/console/").status_code == 302
    sign_in(client, owner)
    assert client.post(f"/console/staff/{member.id}/activate", headers=HTMX).status_code == 200
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["staff.set_role", "staff.deactivate", "staff.activate"]


def test_an_owner_demoted_to_admin_loses_the_staff_page(app, client, as_role):
    as_role("owner")
    other = make_staff("owner", email="other-owner@oxnack.test")
    assert client.post(f"/console/staff/{other.id}/role", data={"role": "admin"}, headers=HTMX).status_code == 200
    sign_in(client, other)
    assert client.get("/console/staff").status_code == 403
    assert "Staff</a>" not in client.get("/console/").get_data(as_text=True)
