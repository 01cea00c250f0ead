"""Rate limits of login, register, code, order and mail relay: per IP and per account, in Redis, JSON 429."""
import pytest

from oxnack_admin.extensions import db
from tests.conftest import TEST_RELAY_PASSWORD
from tests.support.customers import sign_in
from tests.support.factories import make_pool, make_user

LIMITS = dict(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3/minute", RATELIMIT_REGISTER="3/minute",
              RATELIMIT_CODE="3/minute", RATELIMIT_ORDER="3/minute", RATELIMIT_MAIL_RELAY="3/minute",
              MAIL_RELAY_ALLOWED_NETWORKS=["0.0.0.0/0"])  # callers from many addresses, as on an internal network


@pytest.fixture
def limited(app_with):
    return app_with(**LIMITS)


def post_from(client, ip: str, path: str, body: dict):
    return client.post(path, json=body, environ_base={"REMOTE_ADDR": ip})


CASES = [  # path, body for attempt n, the 429 answer
    ("/login", lambda n: {"mail": f"user{n}@example.com", "passwd": "Whatever1"}, {"error": "Too many requests"}),
    ("/register", lambda n: {"mail": f"user{n}@example.com", "passwd": "weak"}, {"error": "Too many requests"}),
    ("/register/code", lambda n: {"mail": f"user{n}@example.com", "code": "123456"}, {"error": "Too many requests"}),
    ("/send_mail", lambda n: {"to_email": f"user{n}@example.com", "email_subject": "s", "email_body": "b",
                              "api_passwd": "wrong"}, {"status": "err_rate_limited"}),
]


@pytest.mark.parametrize("path, body, answer", CASES)
def test_per_ip_limit_across_accounts(limited, path, body, answer):
    client = limited.test_client()
    statuses = [post_from(client, "198.51.100.1", path, body(n)).status_code for n in range(3)]
    assert 429 not in statuses
    response = post_from(client, "198.51.100.1", path, body(99))
    assert response.status_code == 429 and response.json == answer
    assert "Retry-After" in response.headers
    # Another address is not affected.
    assert post_from(client, "198.51.100.2", path, body(100)).status_code != 429


@pytest.mark.parametrize("path, body, answer", CASES)
def test_per_account_limit_across_addresses(limited, path, body, answer):
    client = limited.test_client()
    for n in range(3):
        assert post_from(client, f"203.0.113.{n + 1}", path, body(7)).status_code != 429
    response = post_from(client, "203.0.113.50", path, body(7))
    assert response.status_code == 429 and response.json == answer
    assert post_from(client, "203.0.113.51", path, body(8)).status_code != 429


def test_account_limit_ignores_the_case_of_the_address(limited):
    client = limited.test_client()
    for n, mail in enumerate(["Case@Example.com", "case@example.com", "CASE@EXAMPLE.COM"]):
        post_from(client, f"203.0.113.{n + 1}", "/login", {"mail": mail, "passwd": "Whatever1"})
    assert post_from(client, "203.0.113.9", "/login", {"mail": "case@example.COM", "passwd": "x"}).status_code == 429


def test_order_limit_per_signed_in_customer(limited):
    with limited.app_context():
        user = make_user(balance=0)
        make_pool(1, "ubuntu")
        token = sign_in(user)
        db.session.remove()
    client = limited.test_client()
    client.set_cookie("session_id", token)
    body = {"core": 1, "ram": 1, "hdd": 15, "promo": "NOT", "os": "ubuntu"}
    for n in range(3):
        assert post_from(client, f"203.0.113.{n + 1}", "/create_machine", body).status_code == 402
    response = post_from(client, "203.0.113.77", "/create_machine", body)
    assert response.status_code == 429 and response.json == {"status": "error", "message": "too many requests"}


def test_order_limit_per_ip_without_session(limited):
    client = limited.test_client()
    body = {"core": 1, "ram": 1, "hdd": 15, "os": "ubuntu"}
    assert [post_from(client, "198.51.100.3", "/create_machine", body).status_code for _ in range(3)] == [401] * 3
    assert post_from(client, "198.51.100.3", "/create_machine", body).status_code == 429


def test_unlimited_endpoints_stay_open(limited):
    client = limited.test_client()
    for _ in range(10):
        assert client.get("/parametrs").status_code == 200
        assert client.post("/calc_price", json={"core": 1, "ram": 1, "ssd": 15}).status_code == 200


def test_limits_off_when_disabled(client):
    """The session app runs with RATELIMIT_ENABLED=False (as a load test would)."""
    for _ in range(15):
        assert client.post("/login", json={"mail": "one@example.com", "passwd": "Whatever1"}).status_code == 401
    relay = {"to_email": "a@example.com", "email_subject": "s", "email_body": "b", "api_passwd": TEST_RELAY_PASSWORD}
    assert all(client.post("/send_mail", json=relay).status_code == 200 for _ in range(5))
