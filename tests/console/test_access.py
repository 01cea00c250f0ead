"""Every console route, as every role and as nobody: allowed or denied exactly as the roles say."""
import pytest

from oxnack_admin.models.enums import StaffRole
from tests.console.conftest import HTMX, forget_current_user, sign_in
from tests.support.customers import login_cookie
from tests.support.factories import make_staff, make_user

SUPPORT, ADMIN, OWNER = StaffRole.SUPPORT, StaffRole.ADMIN, StaffRole.OWNER
# Written from the role table, not read from the code: a new route must be added here.
LEAST_ROLE = {
    "console.dashboard_view": SUPPORT, "console.password": SUPPORT, "console.logout": SUPPORT,
    "console.users": SUPPORT, "console.users_show": SUPPORT, "console.users_resend": SUPPORT,
    "console.users_balance": ADMIN, "console.users_verify": ADMIN, "console.users_signout": ADMIN,
    "console.users_block": ADMIN, "console.users_unblock": ADMIN,
    "console.users_telegram_unlink": ADMIN,
    "console.users_duplicates": SUPPORT, "console.users_duplicates_resolve": ADMIN,
    "console.servers": SUPPORT, "console.servers_show": SUPPORT, "console.servers_run": SUPPORT,
    "console.servers_power": SUPPORT,
    "console.servers_usage": SUPPORT, "console.servers_console": SUPPORT, "console.servers_reinstall": ADMIN,
    "console.servers_new": ADMIN, "console.servers_bulk": ADMIN, "console.servers_edit": ADMIN,
    "console.servers_release": ADMIN, "console.servers_retry": ADMIN,
    "console.servers_renew": ADMIN, "console.servers_suspend": ADMIN, "console.servers_unsuspend": ADMIN,
    "console.servers_terminate": ADMIN, "console.servers_period_end": ADMIN, "console.servers_wipe_retry": ADMIN,
    "console.promocodes": SUPPORT, "console.promocodes_show": SUPPORT, "console.promocodes_new": ADMIN,
    "console.promocodes_edit": ADMIN, "console.promocodes_enable": ADMIN, "console.promocodes_disable": ADMIN,
    "console.market": SUPPORT, "console.market_show": SUPPORT, "console.market_new": ADMIN,
    "console.market_edit": ADMIN, "console.market_enable": ADMIN, "console.market_disable": ADMIN,
    "console.invoices": SUPPORT, "console.invoices_show": SUPPORT, "console.invoices_check": SUPPORT,
    "console.invoices_paid": ADMIN,
    "console.crypto_invoices_list": SUPPORT, "console.crypto_invoices_check": SUPPORT,
    "console.proxies": SUPPORT, "console.proxies_orders": SUPPORT, "console.proxies_sync_run": SUPPORT,
    "console.proxies_sync": ADMIN, "console.proxies_cleanup": ADMIN, "console.proxies_orders_resolve": ADMIN,
    "console.transactions": SUPPORT, "console.transactions_csv": SUPPORT,
    "console.jobs": SUPPORT, "console.jobs_retry": ADMIN, "console.jobs_delete": ADMIN, "console.jobs_mailretry": ADMIN,
    "console.audit": SUPPORT,
    "console.tokens": ADMIN, "console.tokens_create": ADMIN, "console.tokens_revoke": ADMIN,
    "console.staff": OWNER, "console.staff_create": OWNER, "console.staff_role": OWNER,
    "console.staff_activate": OWNER, "console.staff_deactivate": OWNER, "console.staff_reset_2fa": OWNER,
    "console.two_factor_view": SUPPORT, "console.system": SUPPORT, "console.two_factor_confirm": SUPPORT,
    "console.support": SUPPORT, "console.support_unread": SUPPORT, "console.support_show": SUPPORT,
    "console.support_reply": SUPPORT, "console.support_note": SUPPORT, "console.support_assign": SUPPORT,
    "console.support_close": SUPPORT, "console.support_reopen": SUPPORT, "console.support_file": SUPPORT,
    "console.newsletters_list": SUPPORT, "console.newsletters_show": SUPPORT, "console.newsletters_progress": SUPPORT,
    "console.newsletters_my_chat": SUPPORT, "console.newsletters_preview": ADMIN, "console.newsletters_create": ADMIN,
    "console.newsletters_test": ADMIN, "console.newsletters_act": ADMIN,
}
PUBLIC = {"console.login", "console.login_code"}
REMOTE_FILES = {"console.support_file"}  # streams a customer's file from Telegram: not a page (tests/inbox)
RANK = {None: 0, SUPPORT: 1, ADMIN: 2, OWNER: 3}


def console_routes(app):
    """(endpoint, method, url) for every console rule, with ids from the `shop` fixture."""
    return [(rule.endpoint, method, rule)
            for rule in app.url_map.iter_rules() if rule.endpoint.startswith("console.")
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def build_url(app, rule, shop) -> str:
    with app.test_request_context():
        from flask import url_for
        return url_for(rule.endpoint, **{name: shop[name] for name in rule.arguments})


def test_every_console_route_is_in_the_role_table(app):
    endpoints = {endpoint for endpoint, _, _ in console_routes(app)}
    assert endpoints == set(LEAST_ROLE) | PUBLIC


def test_every_console_view_declares_its_role(app):
    for endpoint in LEAST_ROLE:
        assert getattr(app.view_functions[endpoint], "required_role", None) == LEAST_ROLE[endpoint], endpoint


@pytest.mark.parametrize("role", [None, SUPPORT, ADMIN, OWNER], ids=["anonymous", "support", "admin", "owner"])
def test_walk_every_route_as(role, app, client, shop):
    staff = make_staff(role) if role else None
    wrong = []
    for endpoint, method, rule in console_routes(app):
        if endpoint in PUBLIC:
            continue
        if staff is not None:
            sign_in(client, staff)  # again before each request: one route signs out
        else:
            forget_current_user()
        url = build_url(app, rule, shop)
        response = client.open(url, method=method, data={})
        response.get_data()
        response.close()  # a streamed answer (the CSV) holds its request context until closed
        allowed = RANK[role] >= RANK[LEAST_ROLE[endpoint]]
        to_login = response.status_code == 302 and "/console/login" in response.headers.get("Location", "")
        if role is None:
            ok = to_login
        elif allowed:
            ok = response.status_code not in (401, 403) and not to_login and response.status_code < 500
        else:
            ok = response.status_code == 403
        if not ok:
            wrong.append(f"{method} {url} as {role or 'anonymous'}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


def test_anonymous_htmx_request_is_sent_to_the_login_page(client, shop):
    response = client.get("/console/users", headers=HTMX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/console/login")


def test_the_login_page_is_public(client):
    response = client.get("/console/login")
    assert response.status_code == 200
    assert b'name="password"' in response.data


def test_a_customer_session_cookie_opens_nothing_in_the_console(app, client, shop):
    customer = make_user("shopper@example.com")
    login_cookie(client, customer)
    for path in ("/console/", "/console/users", f"/console/users/{customer.id}", "/console/staff"):
        response = client.get(path)
        assert response.status_code == 302 and "/console/login" in response.headers["Location"], path


def test_a_deactivated_staff_member_is_signed_out_at_the_next_request(app, client, as_role):
    from oxnack_admin.extensions import db

    staff = as_role("admin")
    assert client.get("/console/").status_code == 200
    staff.active = False
    db.session.commit()
    forget_current_user()
    response = client.get("/console/")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_every_state_changing_route_refuses_a_request_without_the_csrf_token(app, shop):
    """Read from app.url_map: a new POST/PUT/DELETE route is walked without anyone adding it here."""
    from sqlalchemy import func, select

    from oxnack_admin.extensions import db
    from oxnack_admin.models import AuditEvent

    owner = make_staff(OWNER)
    client = app.test_client()
    client.send_csrf = False
    routes = [(endpoint, method, rule) for endpoint, method, rule in console_routes(app)
              if method in {"POST", "PUT", "PATCH", "DELETE"}]
    assert len(routes) >= 20  # the walk really covers the console's actions
    audited = db.session.scalar(select(func.count()).select_from(AuditEvent))
    accepted = []
    for endpoint, method, rule in routes:
        for headers in ({}, HTMX):
            sign_in(client, owner)
            response = client.open(build_url(app, rule, shop), method=method, data={"action": "start"},
                                   headers=headers)
            if response.status_code != 400:
                accepted.append(f"{method} {rule.rule} {headers}: {response.status_code}")
            elif headers:
                assert "toast" in response.headers.get("HX-Trigger", ""), endpoint
    assert not accepted, "\n".join(accepted)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == audited  # nothing happened


def test_every_console_page_answers_htmx_with_a_fragment(app, client, shop):
    """Every GET page, walked from app.url_map as the owner with HX-Request (not boosted): no layout."""
    owner = make_staff(OWNER)
    full_pages = []
    walked = 0
    for endpoint, method, rule in console_routes(app):
        if method != "GET" or endpoint in PUBLIC | REMOTE_FILES:
            continue
        sign_in(client, owner)
        response = client.get(build_url(app, rule, shop), headers=HTMX)
        body = response.get_data(as_text=True)
        response.close()
        walked += 1
        if response.status_code != 200 or "<html" in body.lower() or "<body" in body.lower():
            full_pages.append(f"{rule.rule}: {response.status_code}")
        # The same page asked for normally (or boosted) is the whole layout, for shared links.
        if response.mimetype == "text/html":
            sign_in(client, owner)
            assert "<html" in client.get(build_url(app, rule, shop)).get_data(as_text=True).lower(), rule.rule
    assert walked >= 15 and not full_pages, "\n".join(full_pages)
