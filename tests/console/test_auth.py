"""Staff sign-in, sign-out, password change, the console cookie, rate limit and CSRF."""
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, Staff
from oxnack_admin.services.accounts.passwords import verify_password
from oxnack_admin.services.staff import two_factor
from tests.console.conftest import HTMX, STAFF_PASSWORD, forget_current_user
from tests.support.factories import make_staff, make_user
from tests.support.two_factor import code, enrol, forget_used_codes


def login(client, email, password=STAFF_PASSWORD, path="/console/login"):
    """The sign-in form; a member whose role needs 2FA is enrolled and also sends the code."""
    forget_current_user()
    staff = db.session.scalar(select(Staff).where(Staff.email == email.lower()))
    if staff is not None and staff.role in client.application.config["STAFF_2FA_REQUIRED_ROLES"]:
        if not two_factor.is_enrolled(staff):
            enrol(staff)
        forget_used_codes(staff)  # as if each sign-in came at another time
    response = client.post(path, data={"email": email, "password": password})
    if response.status_code == 302 and response.headers["Location"] == "/console/login/code":
        forget_current_user()
        response = client.post("/console/login/code", data={"code": code()})
    return response


def test_signing_in_sets_the_console_cookie_and_is_audited(app, client):
    staff = make_staff("support", email="sam@oxnack.test")
    response = login(client, "SAM@oxnack.test")
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("oxnack_console=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # COOKIE_SECURE is off in the test app
    assert client.get("/console/").status_code == 200
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "staff.login"))
    assert event.staff_id == staff.id and event.actor == "sam@oxnack.test"


def test_a_wrong_password_is_refused_beside_the_form(app, client):
    make_staff("admin", email="ann@oxnack.test")
    response = login(client, "ann@oxnack.test", "not-the-password")
    assert response.status_code == 422
    assert b"Wrong e-mail or password" in response.data
    forget_current_user()
    assert client.get("/console/").status_code == 302


def test_a_deactivated_account_cannot_sign_in(app, client):
    staff = make_staff("owner", email="gone@oxnack.test")
    staff.active = False
    db.session.commit()
    assert login(client, "gone@oxnack.test").status_code == 422


def test_next_only_leads_inside_the_console(app, client):
    make_staff("support", email="nav@oxnack.test")
    assert login(client, "nav@oxnack.test", path="/console/login?next=/console/users?q=a").headers["Location"] == "/console/users?q=a"
    client.post("/console/logout")
    for target in ("https://evil.example/console/", "//evil.example/console/", "/classic"):
        response = login(client, "nav@oxnack.test", path=f"/console/login?next={target}")
        assert response.headers["Location"] == "/console/", target
        client.post("/console/logout")


def test_the_cookie_is_secure_in_production_settings(app_with):
    secure_app = app_with(COOKIE_SECURE=True)
    with secure_app.app_context():
        make_staff("support", email="tls@oxnack.test")
    response = secure_app.test_client().post("/console/login", data={"email": "tls@oxnack.test", "password": STAFF_PASSWORD})
    assert "Secure" in response.headers["Set-Cookie"]


def test_staff_sign_in_is_rate_limited(app_with):
    limited = app_with(RATELIMIT_ENABLED=True, RATELIMIT_STAFF_LOGIN="3/minute")
    client = limited.test_client()
    codes = [client.post("/console/login", data={"email": "x@oxnack.test", "password": "wrong-password"},
                         environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    # Another address is not affected, and looking at the form is never limited.
    assert client.get("/console/login", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200
    assert client.post("/console/login", data={"email": "x@oxnack.test", "password": "wrong-password"},
                       environ_base={"REMOTE_ADDR": "198.51.100.8"}).status_code == 422


def test_the_tokens_of_the_pages_are_what_htmx_and_forms_send(app):
    """With a client that sends no token of its own: the login form's token, then the page's hx-headers one."""
    enrol(make_staff("admin", email="csrf@oxnack.test"))
    customer_id = make_user("csrf-customer@example.com", verified=False).id
    client = app.test_client()
    client.send_csrf = False
    page = client.get("/console/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/console/login", data={"email": "csrf@oxnack.test", "password": STAFF_PASSWORD}).status_code == 400
    assert client.post("/console/login", data={"email": "csrf@oxnack.test", "password": STAFF_PASSWORD,
                                               "csrf_token": token}).status_code == 302
    # The code page's form carries the token too.
    forget_current_user()
    page = client.get("/console/login/code").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/console/login/code", data={"code": code()}).status_code == 400
    assert client.post("/console/login/code", data={"code": code(), "csrf_token": token}).status_code == 302
    # htmx sends the token from <body hx-headers> as X-CSRFToken.
    forget_current_user()
    dashboard = client.get("/console/").get_data(as_text=True)
    header_token = dashboard.split('"X-CSRFToken": "')[1].split('"')[0]
    refused = client.post(f"/console/users/{customer_id}/verify", headers=HTMX)
    assert refused.status_code == 400 and "toast" in refused.headers["HX-Trigger"]
    accepted = client.post(f"/console/users/{customer_id}/verify", headers={**HTMX, "X-CSRFToken": header_token})
    assert accepted.status_code == 200


def test_signing_out_ends_the_staff_session(app, client, as_role):
    as_role("support")
    response = client.post("/console/logout")
    assert response.status_code == 303
    forget_current_user()
    assert client.get("/console/").status_code == 302


def two_devices(app, email="two@oxnack.test", role="owner"):
    """One staff member signed in through the login form on two clients (say a laptop and a stolen cookie)."""
    make_staff(role, email=email)
    clients = [app.test_client(), app.test_client()]
    for device in clients:
        assert login(device, email).status_code == 302
    for device in clients:
        forget_current_user()
        assert device.get("/console/").status_code == 200
    return clients


def signed_out(device) -> bool:
    forget_current_user()
    response = device.get("/console/")
    return response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_signing_out_on_one_device_ends_the_other_sessions(app):
    laptop, stolen = two_devices(app)
    forget_current_user()
    assert laptop.post("/console/logout").status_code == 303
    assert signed_out(stolen) and signed_out(laptop)
    assert login(laptop, "two@oxnack.test").status_code == 302  # signing in again works
    assert not signed_out(laptop) and signed_out(stolen)


def test_changing_the_password_ends_the_other_sessions_but_not_this_one(app):
    laptop, stolen = two_devices(app)
    forget_current_user()
    done = laptop.post("/console/password", data={"current_password": STAFF_PASSWORD, "new_password": "brand-new-pass-2",
                                                  "confirm": "brand-new-pass-2"}, headers=HTMX)
    assert done.status_code == 200
    assert signed_out(stolen)
    assert not signed_out(laptop)


def test_deactivating_ends_the_sessions_for_good(app):
    owner_device = app.test_client()
    make_staff("owner", email="boss@oxnack.test")
    assert login(owner_device, "boss@oxnack.test").status_code == 302
    [device, stolen] = two_devices(app, email="leaver@oxnack.test", role="admin")
    leaver = db.session.scalar(select(Staff).where(Staff.email == "leaver@oxnack.test"))
    forget_current_user()
    assert owner_device.post(f"/console/staff/{leaver.id}/deactivate", headers=HTMX).status_code == 200
    assert signed_out(device) and signed_out(stolen)
    forget_current_user()
    assert owner_device.post(f"/console/staff/{leaver.id}/activate", headers=HTMX).status_code == 200
    assert signed_out(stolen)  # reactivation does not revive an old cookie


def test_changing_the_password(app, client, as_role):
    staff = as_role("support")
    wrong = client.post("/console/password", data={"current_password": "nope", "new_password": "brand-new-pass-1",
                                                   "confirm": "brand-new-pass-1"}, headers=HTMX)
    assert wrong.status_code == 422 and b"not your current password" in wrong.data
    short = client.post("/console/password", data={"current_password": STAFF_PASSWORD, "new_password": "short",
                                                   "confirm": "short"}, headers=HTMX)
    assert short.status_code == 422
    done = client.post("/console/password", data={"current_password": STAFF_PASSWORD,
                                                  "new_password": "brand-new-pass-1", "confirm": "brand-new-pass-1"},
                       headers=HTMX)
    assert done.status_code == 200 and "Password changed" in done.headers["HX-Trigger"]
    db.session.expire_all()
    assert verify_password(db.session.get(Staff, staff.id).password_hash, "brand-new-pass-1")[0]
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "staff.change_password"))
