"""State-changing classic calls refuse a foreign Origin (403 in their shape): a sibling-subdomain page
could otherwise POST text/plain with the customer's cookie. No Origin (servers, curl) stays allowed.
"""
import json

import pytest
from sqlalchemy import func, select

from oxnack_admin.web.classic import STATE_CHANGING, ClassicBlueprint
from oxnack_admin.web.hot_reads import HotReads
from oxnack_admin.extensions import db
from oxnack_admin.models import Server, User
from tests.classic.conftest import SITE
from tests.classic.test_errors import in_shape
from tests.conftest import TEST_RELAY_PASSWORD
from tests.support.customers import login_cookie
from tests.support.factories import DEFAULT_PASSWORD, make_pool, make_staff, make_user
from tests.test_staff_api_tokens import bearer, new_token

SIBLING = {"Origin": "https://shop.oxnack.example"}  # same site as the customer's, another origin
STATUS_ERROR = {"status": "error", "message": None}
ORDER = {"core": 1, "ram": 1, "hdd": 15, "promo": "NOT", "os": "ubuntu"}
# Views no cookie authenticates: servers and staff tokens call them from anywhere.
ANY_ORIGIN = {"orders.calc_price", "payments.platega_callback", "mail_relay.send_mail", "proxies.sync_inventory",
              "proxies.cleanup"}

COOKIE_CALLS = [
    ("/login", {"mail": "o@example.com", "passwd": DEFAULT_PASSWORD}, {"error": None}),
    ("/register", {"mail": "new@example.com", "passwd": "Secret123"}, {"error": None}),
    ("/register/code", {"mail": "new@example.com", "code": "123456"}, {"error": None}),
    ("/reset_cookie", {}, STATUS_ERROR), ("/create_machine", ORDER, STATUS_ERROR),
    ("/control_server", {"server_id": 1, "action": "stop"}, STATUS_ERROR),
    ("/renew_server", {"server_id": 1}, STATUS_ERROR), ("/auto_renew", {"server_id": 1, "enabled": True}, STATUS_ERROR),
    ("/create_invoice", {"amount": 100, "method": "sbp"}, STATUS_ERROR),
    ("/api/external-proxy/purchase", {"product_id": 1}, STATUS_ERROR),
    ("/api/external-proxy/refund", {"order_id": 1}, STATUS_ERROR),
]


@pytest.fixture
def customer_client(client, app):
    customer = make_user("o@example.com", balance=1000)
    login_cookie(client, customer)
    return client


@pytest.mark.parametrize("path, body, shape", COOKIE_CALLS, ids=[c[0] for c in COOKIE_CALLS])
@pytest.mark.parametrize("origin", [SIBLING["Origin"], "null", "http://localhost:8080.evil.example"])
def test_a_foreign_origin_is_403_in_the_endpoint_shape(customer_client, path, body, shape, origin):
    response = customer_client.post(path, data=json.dumps(body), content_type="text/plain", headers={"Origin": origin})
    assert response.status_code == 403, (response.status_code, response.data)
    assert response.is_json and in_shape(response.json, shape)


def test_a_refused_order_changes_nothing(customer_client):
    make_pool(2)
    response = customer_client.post("/create_machine", data=json.dumps(ORDER), content_type="text/plain",
                                    headers=SIBLING)
    assert response.status_code == 403
    assert db.session.scalar(select(User.balance).where(User.mail == "o@example.com")) == 1000
    assert db.session.scalar(select(func.count()).select_from(Server).where(Server.busy.is_(True))) == 0


@pytest.mark.parametrize("headers", [SITE, {"Origin": "HTTP://LOCALHOST:8080"}, {}], ids=["site", "site-case", "none"])
def test_the_site_origin_and_no_origin_may_order_and_sign_in(customer_client, headers):
    make_pool(2)
    response = customer_client.post("/create_machine", json=ORDER, headers=headers)
    assert response.status_code == 201, response.data
    login = customer_client.post("/login", json={"mail": "o@example.com", "passwd": DEFAULT_PASSWORD}, headers=headers)
    assert login.status_code == 200


def test_server_and_token_calls_take_any_origin(client, app):
    relay = client.post("/send_mail", headers=SIBLING, json={
        "to_email": "c@example.com", "email_subject": "s", "email_body": "b", "api_passwd": TEST_RELAY_PASSWORD})
    assert relay.status_code == 200 and relay.json == {"status": "sended"}
    callback = client.post("/platega/callback", headers=SIBLING, json={"id": "x"})
    assert callback.status_code == 401  # its merchant id and secret decide, not the Origin
    token = new_token(make_staff("admin"))
    cleanup = client.post("/api/external-proxy/cleanup", headers={**SIBLING, **bearer(token)})
    assert cleanup.status_code == 200 and cleanup.json["status"] == "success"


@pytest.mark.parametrize("answered_by", ["hot reads", "Flask"])
def test_a_price_quote_takes_any_origin(client, answered_by):
    """/calc_price changes nothing and needs no session: no Origin check, wherever it is answered."""
    body = {"core": 1, "ram": 1, "ssd": 15, **({"promo": "UNKNOWN"} if answered_by == "Flask" else {})}
    response = client.post("/calc_price", data=json.dumps(body), content_type="text/plain", headers=SIBLING)
    assert response.status_code == 200 and response.json["price"] == 170


def test_every_state_changing_classic_call_checks_the_origin_unless_no_cookie_authenticates_it(app, client):
    refused, allowed = set(), set()
    for rule in app.url_map.iter_rules():
        blueprint = app.blueprints.get(rule.endpoint.rpartition(".")[0])
        methods = rule.methods & STATE_CHANGING
        if not isinstance(blueprint, ClassicBlueprint) or rule.endpoint.endswith("_refused") or not methods:
            continue
        response = client.open(rule.rule, method=sorted(methods)[0], headers=SIBLING, data=b"{}")
        (refused if response.status_code == 403 else allowed).add(rule.endpoint)
    assert allowed == ANY_ORIGIN
    assert len(refused) >= len(COOKIE_CALLS)


def test_the_hot_reads_layer_leaves_a_checked_post_with_a_foreign_origin_to_flask(app):
    """A state-changing read the layer answered itself would skip the Origin check: it lets Flask refuse it."""
    calls = []
    layer = HotReads(app, app.wsgi_app, {("POST", "/create_machine"): lambda _app, environ: calls.append(1) or
                                         (200, b"{}")})
    saved = app.wsgi_app
    app.wsgi_app = layer
    try:
        foreign = app.test_client().post("/create_machine", data=b"{}", headers=SIBLING)
        assert foreign.status_code == 403 and calls == []
        same_site = app.test_client().post("/create_machine", data=b"{}", headers=SITE)
        assert same_site.status_code == 200 and calls == [1]
    finally:
        app.wsgi_app = saved
