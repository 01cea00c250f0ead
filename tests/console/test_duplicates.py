"""Users › Duplicate mails: legacy accounts sharing an address, listed and resolved (audited, admin+, htmx)."""
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, User
from tests.console.conftest import HTMX
from tests.support.factories import make_server, make_user


def legacy_pair():
    """Two adopted accounts of one address, as migration 0006 leaves them: the second one signs in."""
    old = make_user("Shared@Example.com", password="OldSecret1", duplicate_mail=True, balance=15)
    make_server(901, busy=True, username=old.username)
    new = make_user("shared@example.com", password="NewSecret1")
    return old, new


def test_the_users_page_links_the_duplicates_and_the_page_lists_them(app, client, as_role):
    as_role("support")
    old, new = legacy_pair()
    make_user("alone@example.com")
    users_page = client.get("/console/users").get_data(as_text=True)
    assert 'href="/console/users/duplicates"' in users_page and "(1 to resolve)" in users_page
    page = client.get("/console/users/duplicates")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in body
    assert "shared@example.com" in body and "Shared@Example.com" in body and "alone@example.com" not in body
    # The one that signs in comes first; the other shows its money and server to decide on.
    assert body.index(f'/console/users/{new.id}"') < body.index(f'/console/users/{old.id}"')
    assert body.count("<strong>signs in</strong>") == 1 and ">15.00<" in body
    fragment = client.get("/console/users/duplicates", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and 'id="duplicates"' in fragment
    # Support sees the list but not the buttons.
    assert "Keep the address here" not in body
    detail = client.get(f"/console/users/{old.id}").get_data(as_text=True)
    assert "another account signs in with it" in detail


def test_an_admin_keeps_the_address_on_the_chosen_account(app, client, as_role):
    staff = as_role("admin")
    old, new = legacy_pair()
    assert "Keep the address here" in client.get("/console/users/duplicates").get_data(as_text=True)
    response = client.post("/console/users/duplicates/resolve", data={"mail": "shared@example.com", "keeper": old.id},
                           headers=HTMX)
    assert response.status_code == 200
    assert f"stays with user {old.id}" in response.headers["HX-Trigger"]
    assert "No two accounts share" in response.get_data(as_text=True)
    db.session.expire_all()
    kept, moved = db.session.get(User, old.id), db.session.get(User, new.id)
    assert (kept.mail, kept.duplicate_mail) == ("Shared@Example.com", False)
    assert (moved.mail, moved.legacy_mail, moved.duplicate_mail) == (None, "shared@example.com", False)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.resolve_duplicate_mail"))
    assert event.staff_id == staff.id and event.target_id == str(old.id) and event.after["moved_aside"] == [new.id]
    # Logging in by the address now reaches the chosen account only.
    assert client.post("/login", json={"mail": "shared@example.com", "passwd": "OldSecret1"}).status_code == 200
    assert client.post("/login", json={"mail": "shared@example.com", "passwd": "NewSecret1"}).status_code == 401
    # The moved-aside account is still found by its former address, and says so.
    assert f"/console/users/{new.id}" in client.get("/console/users?q=shared@").get_data(as_text=True)
    assert "Former e-mail" in client.get(f"/console/users/{new.id}").get_data(as_text=True)


def test_resolving_refuses_what_does_not_apply(app, client, as_role):
    as_role("admin")
    old, new = legacy_pair()
    stranger = make_user("stranger@example.com")
    for data, status in (({"mail": "shared@example.com", "keeper": stranger.id}, 409),
                         ({"mail": "shared@example.com", "keeper": "x"}, 422),
                         ({"mail": "stranger@example.com", "keeper": stranger.id}, 409)):
        response = client.post("/console/users/duplicates/resolve", data=data, headers=HTMX)
        assert response.status_code == status and "toast" in response.headers["HX-Trigger"], data
    assert client.post("/console/users/duplicates/resolve", data={"mail": " SHARED@example.com ", "keeper": new.id},
                       headers=HTMX).status_code == 200
    again = client.post("/console/users/duplicates/resolve", data={"mail": "shared@example.com", "keeper": old.id},
                        headers=HTMX)
    assert again.status_code == 409 and "no longer shared" in again.headers["HX-Trigger"]
    db.session.expire_all()
    assert db.session.get(User, new.id).mail == "shared@example.com"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.resolve_duplicate_mail")
                             .where(AuditEvent.target_id == str(old.id))) is None


def test_support_cannot_resolve(app, client, as_role):
    as_role("support")
    old, _ = legacy_pair()
    response = client.post("/console/users/duplicates/resolve", data={"mail": "shared@example.com", "keeper": old.id},
                           headers=HTMX)
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(User, old.id).duplicate_mail is True


def test_resolving_needs_the_csrf_token(app_with, as_role):
    from tests.console.conftest import sign_in
    from tests.support.factories import make_staff
    secured = app_with(WTF_CSRF_ENABLED=True)
    old, _ = legacy_pair()
    with secured.test_client() as client:
        client.send_csrf = False  # what a forged cross-site post would send
        sign_in(client, make_staff("admin"))
        response = client.post("/console/users/duplicates/resolve",
                               data={"mail": "shared@example.com", "keeper": old.id}, headers=HTMX)
        assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, old.id).duplicate_mail is True


def test_no_registration_code_for_an_account_that_does_not_sign_in_by_its_address(app, client, as_role):
    as_role("support")
    old = make_user("Twice@Example.com", verified=False, duplicate_mail=True)
    make_user("twice@example.com", verified=False)
    response = client.post(f"/console/users/{old.id}/resend-code", headers=HTMX)
    assert response.status_code == 409 and "resolve the duplicate first" in response.headers["HX-Trigger"]
