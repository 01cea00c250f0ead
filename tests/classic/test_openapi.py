"""/openapi.json describes the classic endpoints, and schemathesis finds no 500 and no off-shape error.

Bounded: a fixed seed, derandomized generation, a small number of examples per operation.
"""
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from oxnack_admin.extensions import db
from tests.jobs.conftest import job_config, proxmox  # noqa: F401  (fixtures: a loopback Proxmox)
from tests.crypto.conftest import chain, customer, open_crypto, watch  # noqa: F401  (a loopback BSC node)
from tests.payments.conftest import pay_config, platega  # noqa: F401  (fixtures: a loopback Platega)
from oxnack_admin.services.proxies import sync
from oxnack_admin.simulator.socks_upstream import SocksUpstreamSimulator
from tests.support.customers import sign_in
from tests.support.factories import make_pool, make_promocode, make_server, make_user

FUZZ_CONFIG = schemathesis.Config.from_dict({"seed": 7002, "generation": {"deterministic": True, "database": "none"}})
MAX_EXAMPLES = 25  # per operation and mode (valid and invalid input)
CLASSIC_PATHS = {"/register", "/register/code", "/login", "/get_mail", "/get_balance", "/reset_cookie", "/countries",
                 "/osystems", "/parametrs", "/calc_price", "/create_machine", "/user_services", "/control_server",
                 "/renew_server", "/auto_renew", "/services", "/send_mail", "/create_invoice", "/platega/callback",
                 "/debug/cache", "/api/external-proxy/list", "/api/external-proxy/purchase",
                 "/api/external-proxy/orders", "/api/external-proxy/refund", "/api/external-proxy/sync",
                 "/api/external-proxy/cleanup", "/api/external-proxy/stats", "/server_stats", "/reinstall_server",
                 "/console_link", "/create_crypto_invoice", "/crypto_invoice"}


def test_openapi_document_lists_every_classic_call(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200 and response.json["openapi"].startswith("3.")
    assert set(response.json["paths"]) == CLASSIC_PATHS
    order = response.json["paths"]["/create_machine"]["post"]
    assert set(order["responses"]) == {"201", "400", "401", "402", "403", "413", "422", "429", "501"}
    assert order["requestBody"]["content"]["application/json"]["schema"]["properties"]["core"]["maximum"] == 5


@pytest.fixture
def proxy_upstream(app):
    """A proxy upstream simulator with stock synced into the inventory, so purchases can succeed."""
    simulator = SocksUpstreamSimulator().start()
    simulator.seed(40)
    saved = {key: app.config.get(key) for key in ("SOCKS_API_URL", "SOCKS_API_TOKEN", "SOCKS_API_TIMEOUT")}
    app.config.update(SOCKS_API_URL=simulator.api_url, SOCKS_API_TOKEN=simulator.token, SOCKS_API_TIMEOUT=5)
    with app.app_context():
        sync.sync_now()
        db.session.remove()
    yield simulator
    app.config.update(saved)
    simulator.stop()


@pytest.fixture
def shop(app, platega, proxy_upstream):
    """A rich signed-in customer with a server, a pool, a promocode, a (simulated) gateway and proxy stock;
    returns the session token."""
    user = make_user("fuzz@example.com", balance=100000)
    make_server(400, busy=True, username=user.username, status="on")
    make_pool(3, "ubuntu", first_vmid=500)
    make_pool(2, "debian", first_vmid=600)
    make_promocode("SAVE10", 10)
    token = sign_in(user)
    db.session.remove()
    return token


@pytest.fixture
def shop_vm(proxmox):
    """The shop's server 400 in a simulated Proxmox node: usage, reinstall and console calls reach it."""
    proxmox.add_vm(400, name="400-fuzz", cores=2, memory=2048, disk_gb=20, status="running")
    return proxmox


@pytest.fixture(scope="module")
def classic_schema(app):
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=FUZZ_CONFIG)


# (path, method) of every classic operation; one test per operation and generation mode.
OPERATIONS = [("/register", "POST"), ("/register/code", "POST"), ("/login", "POST"), ("/get_mail", "GET"),
              ("/get_balance", "GET"), ("/reset_cookie", "POST"), ("/countries", "GET"), ("/osystems", "GET"),
              ("/parametrs", "GET"), ("/calc_price", "POST"), ("/create_machine", "POST"), ("/user_services", "GET"),
              ("/control_server", "POST"), ("/renew_server", "POST"), ("/auto_renew", "POST"), ("/services", "GET"),
              ("/send_mail", "POST"), ("/create_invoice", "POST"), ("/platega/callback", "POST"),
              ("/debug/cache", "GET"), ("/api/external-proxy/list", "GET"), ("/api/external-proxy/purchase", "POST"),
              ("/api/external-proxy/orders", "GET"), ("/api/external-proxy/refund", "POST"),
              ("/api/external-proxy/sync", "POST"), ("/api/external-proxy/cleanup", "POST"),
              ("/api/external-proxy/stats", "GET"), ("/server_stats", "GET"), ("/reinstall_server", "POST"),
              ("/console_link", "POST"), ("/create_crypto_invoice", "POST"), ("/crypto_invoice", "GET")]
VM_PATHS = {"/server_stats", "/reinstall_server", "/console_link"}
CRYPTO_PATHS = {"/create_crypto_invoice", "/crypto_invoice"}  # fuzzed against a loopback BSC node
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
# Invalid input exists only where there is a body; the GET calls take nothing.
CASES = [(path, method, GenerationMode.POSITIVE) for path, method in OPERATIONS] + [
    (path, method, GenerationMode.NEGATIVE) for path, method in OPERATIONS if method == "POST" and path != "/reset_cookie"]


def classic_routes(app) -> set[tuple[str, str]]:
    """(path, method) of every route the app really serves on a classic JSON blueprint."""
    from oxnack_admin.web.classic import ClassicBlueprint

    routes = set()
    for rule in app.url_map.iter_rules():
        blueprint = app.blueprints.get(rule.endpoint.rpartition(".")[0])
        if isinstance(blueprint, ClassicBlueprint) and not rule.endpoint.endswith("_refused"):
            routes |= {(rule.rule, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_the_served_document_describes_exactly_the_routes_the_app_serves(app, client):
    """A classic route added without its OpenAPI entry (or an entry left for a removed route) fails here."""
    document = client.get("/openapi.json").json
    described = {(path, method.upper()) for path, operations in document["paths"].items() for method in operations
                 if method in {"get", "post", "put", "patch", "delete"}}
    assert described == classic_routes(app)


def test_every_served_classic_operation_is_fuzzed(app):
    assert set(OPERATIONS) == classic_routes(app)


@pytest.mark.parametrize("path, method, mode", CASES)
def test_classic_endpoints_under_generated_input(request, classic_schema, shop, path, method, mode):
    if path in CRYPTO_PATHS:
        request.getfixturevalue("chain")
    operation = classic_schema[path][method]
    if path in VM_PATHS:
        request.getfixturevalue("shop_vm")

    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode, cookies={"session_id": shop}))
    def call(case):
        # From loopback, as the Flask test client and every internal caller of the relay are.
        response = case.call(environ_overrides={"REMOTE_ADDR": "127.0.0.1"})
        # No 5xx, except the contract's 501 "not server now" once the fuzzer has bought the whole pool.
        assert response.status_code < 500 or (path, response.status_code) == ("/create_machine", 501), response.text
        case.validate_response(response, checks=CHECKS)
        if response.status_code >= 400:  # every error is a JSON object (its shape checked above), never HTML
            assert response.headers["content-type"] == ["application/json"], response.text
            assert isinstance(json.loads(response.content), dict)
        db.session.remove()

    call()


def test_crypto_invoice_answers_in_every_state_match_the_document(classic_schema, chain, open_crypto, customer):
    """The fuzzer cannot guess an invoice id of its customer: the 200 shape is checked on real invoices here."""
    token = sign_in(customer)
    waiting, partial, paid = open_crypto(925, "USDT"), open_crypto(925, "USDT"), open_crypto(610, "BNB")
    chain.pay_usdt(partial.address, "4.123456789012345678")
    chain.send_bnb(paid.address, "0.02")
    chain.mine(3)
    watch()
    operation = classic_schema["/crypto_invoice"]["GET"]
    states = []
    for invoice in (waiting, partial, paid):
        case = operation.Case(query={"invoice_id": invoice.id}, cookies={"session_id": token})
        response = case.call(environ_overrides={"REMOTE_ADDR": "127.0.0.1"})
        case.validate_response(response, checks=CHECKS)
        states.append(response.json()["state"])
    assert states == ["waiting", "partially_paid", "paid"]
