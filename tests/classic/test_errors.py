"""Every classic endpoint answers errors as JSON in its own shape: 405, 413, 500, CSRF, CORS."""
import pytest

from tests.classic.conftest import SITE
from tests.conftest import TEST_RELAY_PASSWORD, make_test_config
from tests.support.customers import COOKIE

# path, method, the shape of its errors (key -> value or None for "any string")
ENDPOINTS = [
    ("/register", "POST", {"error": None}), ("/register/code", "POST", {"error": None}),
    ("/login", "POST", {"error": None}),
    ("/get_mail", "GET", {"status": "error", "message": None}), ("/get_balance", "GET", {"status": "error", "message": None}),
    ("/reset_cookie", "POST", {"status": "error", "message": None}),
    ("/countries", "GET", {"status": "error", "message": None}), ("/osystems", "GET", {"status": "error", "message": None}),
    ("/parametrs", "GET", {"status": "error", "message": None}), ("/calc_price", "POST", {"status": "error", "message": None}),
    ("/create_machine", "POST", {"status": "error", "message": None}),
    ("/user_services", "GET", {"status": "error", "message": None}),
    ("/control_server", "POST", {"status": "error", "message": None}),
    ("/services", "GET", {"error": "err"}), ("/send_mail", "POST", {"status": None}),
]


def in_shape(body, shape) -> bool:
    return (isinstance(body, dict) and set(body) == set(shape)
            and all(isinstance(body[k], str) and (v is None or body[k] == v) for k, v in shape.items()))


@pytest.mark.parametrize("path, method, shape", ENDPOINTS)
def test_wrong_method_is_405_in_the_endpoint_shape(client, path, method, shape):
    wrong = "DELETE" if method == "GET" else "GET"
    for verb in (wrong, "PUT", "PATCH"):
        response = client.open(path, method=verb)
        assert response.status_code == 405, verb
        assert response.is_json and in_shape(response.json, shape), response.data
        assert method in response.headers["Allow"]


@pytest.mark.parametrize("path, method, shape", [e for e in ENDPOINTS if e[1] == "POST"])
def test_oversized_body_is_413_in_the_endpoint_shape(client, path, method, shape):
    client.set_cookie(COOKIE, "whatever")
    huge = b'{"mail": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = client.post(path, data=huge, content_type="application/json")
    assert response.status_code == 413
    assert response.is_json and in_shape(response.json, shape), response.data


@pytest.mark.parametrize("path, method, shape", ENDPOINTS)
def test_requests_from_the_site_origin_carry_cors_headers(client, path, method, shape):
    response = client.open(path, method=method, headers=SITE, json={})
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response.headers.get("Vary", "")


@pytest.mark.parametrize("path, method, shape", ENDPOINTS)
def test_preflight_from_the_site_origin(client, path, method, shape):
    response = client.options(path, headers={**SITE, "Access-Control-Request-Method": method,
                                             "Access-Control-Request-Headers": "content-type"})
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert method in response.headers["Access-Control-Allow-Methods"]
    assert "content-type" in response.headers["Access-Control-Allow-Headers"].lower()


def test_other_origins_get_no_cors_grant(client):
    for origin in ("http://evil.example", "http://localhost:8081", "null"):
        response = client.get("/get_balance", headers={"Origin": origin})
        assert "Access-Control-Allow-Origin" not in response.headers
        preflight = client.options("/login", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        assert "Access-Control-Allow-Origin" not in preflight.headers


def test_classic_endpoints_need_no_csrf_token_even_with_csrf_on(app_with):
    guarded = app_with(WTF_CSRF_ENABLED=True).test_client()
    assert guarded.post("/login", json={"mail": "ghost@example.com", "passwd": "Whatever1"}, headers=SITE).json == {
        "error": "User not found"}
    assert guarded.post("/calc_price", json={"core": 1, "ram": 1, "ssd": 15}).status_code == 200
    assert guarded.post("/send_mail", json={"to_email": "a@example.com", "email_subject": "s", "email_body": "b",
                                            "api_passwd": "wrong"}).status_code == 401


@pytest.fixture
def broken_database_app(redis_url):
    """An app whose PostgreSQL is unreachable, with exceptions handled as in production."""
    from oxnack_admin import create_app
    return create_app(make_test_config("postgresql://nobody@127.0.0.1:1/none", redis_url,
                                       PROPAGATE_EXCEPTIONS=False))


@pytest.mark.parametrize("path, method, body, answer", [
    ("/services", "GET", None, {"error": "err"}),
    ("/get_balance", "GET", None, {"status": "error", "message": "server error"}),
    ("/user_services", "GET", None, {"status": "error", "message": "server error"}),
    ("/login", "POST", {"mail": "a@example.com", "passwd": "Secret123"}, {"error": "Internal server error"}),
    ("/send_mail", "POST", {"to_email": "a@example.com", "email_subject": "s", "email_body": "b",
                            "api_passwd": TEST_RELAY_PASSWORD}, {"status": "error"}),
])
def test_a_failure_is_500_in_the_endpoint_shape(broken_database_app, path, method, body, answer):
    client = broken_database_app.test_client()
    client.set_cookie(COOKIE, "some-session")
    response = client.open(path, method=method, json=body, headers=SITE)
    assert response.status_code == 500 and response.json == answer
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"


def test_catalogue_and_price_work_without_database(broken_database_app):
    """The rent page's calls read configuration only."""
    client = broken_database_app.test_client()
    assert client.get("/parametrs").status_code == 200
    assert client.get("/countries").status_code == 200 and client.get("/osystems").status_code == 200
    assert client.post("/calc_price", json={"core": 1, "ram": 1, "ssd": 15, "promo": "NOT"}).json["price"] == 170
