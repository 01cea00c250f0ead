"""Promocodes: create with inline validation, edit, enable/disable, see uses; the order form agrees."""
from datetime import datetime, timezone

from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, Promocode, PromocodeUse
from oxnack_admin.services.money import promocodes
from tests.console.conftest import HTMX
from tests.support.factories import make_promocode, make_user

NEW = {"promo": "SPRING25", "discount": "25", "expires_at": "2099-05-01T12:30", "max_uses": "100",
       "per_user_limit": "2", "enabled": "y"}


def test_create_a_promocode(app, client, as_role):
    as_role("admin")
    response = client.post("/console/promocodes/new", data=NEW, headers=HTMX)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/console/promocodes/SPRING25"
    code = db.session.get(Promocode, "SPRING25")
    assert (code.discount, code.max_uses, code.per_user_limit, code.enabled, code.uses) == (25, 100, 2, True, 0)
    assert code.expires_at == datetime(2099, 5, 1, 12, 30, tzinfo=timezone.utc)
    assert promocodes.discount_for("SPRING25") == 25
    event, = db.session.scalars(select(AuditEvent))
    assert event.action == "promocode.create" and event.after["discount"] == 25
    page = client.get("/console/promocodes/SPRING25").get_data(as_text=True)
    assert "created" in page and "2099-05-01 12:30 UTC" in page


def test_the_form_shows_each_error_beside_its_field(app, client, as_role):
    as_role("admin")
    make_promocode("TAKEN", 5)
    cases = [({"promo": "TAKEN"}, "exists already"), ({"promo": "NOT"}, "reads this text as no promocode"),
             ({"promo": "has space"}, "letters, digits"), ({"discount": "0"}, "between 1 and 100"),
             ({"discount": "150"}, "between 1 and 100"), ({"max_uses": "0"}, "between 1 and 10000000"),
             ({"per_user_limit": ""}, "This field is required"), ({"expires_at": "tomorrow"}, "Not a valid datetime")]
    for change, message in cases:
        response = client.post("/console/promocodes/new", data={**NEW, **change}, headers=HTMX)
        body = response.get_data(as_text=True)
        assert response.status_code == 422 and message in body, (change, body[-2000:])
        assert 'class="field-error"' in body
    assert db.session.scalar(select(Promocode.promo).where(Promocode.promo != "TAKEN")) is None


def test_edit_and_disable(app, client, as_role):
    as_role("admin")
    make_promocode("EDIT", 10)
    response = client.post("/console/promocodes/EDIT/edit", data={"discount": "15", "expires_at": "", "max_uses": "",
                                                                  "per_user_limit": "3", "enabled": "y"}, headers=HTMX)
    assert response.status_code == 200 and "saved" in response.headers["HX-Trigger"]
    db.session.expire_all()
    assert (db.session.get(Promocode, "EDIT").discount, db.session.get(Promocode, "EDIT").per_user_limit) == (15, 3)
    assert client.post("/console/promocodes/EDIT/disable", headers=HTMX).status_code == 200
    assert promocodes.discount_for("EDIT") == 0
    assert client.post("/console/promocodes/EDIT/disable", headers=HTMX).status_code == 409
    assert client.post("/console/promocodes/EDIT/enable", headers=HTMX).status_code == 200
    assert promocodes.discount_for("EDIT") == 15
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["promocode.update", "promocode.disable", "promocode.enable"]
    update = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "promocode.update"))
    assert update.before["discount"] == 10 and update.after["discount"] == 15
    bad = client.post("/console/promocodes/EDIT/edit", data={"discount": "-1", "per_user_limit": "1"}, headers=HTMX)
    assert bad.status_code == 422


def test_uses_and_listing_state(app, client, as_role):
    as_role("support")
    customer = make_user("user-of-code@example.com")
    make_promocode("USED", 20, uses=1, max_uses=1)
    make_promocode("LIVE", 5)
    db.session.add(PromocodeUse(promo="USED", user_id=customer.id, server_id=777, discount=20))
    db.session.commit()
    page = client.get("/console/promocodes/USED").get_data(as_text=True)
    assert "user-of-code@example.com" in page and "used up" in page
    active = client.get("/console/promocodes?state=active", headers=HTMX).get_data(as_text=True)
    assert "LIVE" in active and ">USED<" not in active
    assert "USED" in client.get("/console/promocodes?q=us", headers=HTMX).get_data(as_text=True)
