"""The hot-path cuts change nothing a client sees: CORS as flask-cors sent it, limits where configured."""
import pytest
from flask import Flask
from flask_cors import CORS

from oxnack_admin.extensions import redis_client

PATHS = ["/parametrs", "/get_balance", "/login", "/nowhere", "/console/login", "/static/console.css", "/health"]
REQUESTS = [  # method, extra headers
    ("GET", {}),
    ("GET", {"Origin": "http://localhost:8080"}),
    ("GET", {"Origin": "HTTP://LOCALHOST:8080"}),
    ("GET", {"Origin": "http://evil.example"}),
    ("POST", {"Origin": "http://127.0.0.1:8080"}),
    ("OPTIONS", {"Origin": "http://localhost:8080", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type, X-Custom,accept"}),
    ("OPTIONS", {"Origin": "http://localhost:8080", "Access-Control-Request-Method": "get"}),
    ("OPTIONS", {"Origin": "http://localhost:8080", "Access-Control-Request-Method": "BREW"}),
    ("OPTIONS", {"Origin": "http://localhost:8080"}),
    ("GET", {"Origin": "http://localhost:8080", "Access-Control-Request-Private-Network": "true"}),
]


def flask_cors_reference(origins: list[str]) -> Flask:
    """What the app ran before: flask-cors with these options, on routes that answer every method."""
    reference = Flask("reference")
    CORS(reference, resources={r"^/(?!console|static|media).*": {"origins": origins}}, supports_credentials=True)
    reference.add_url_rule("/<path:anything>", "any", lambda anything: "x",
                           methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    return reference


def cors_headers(response) -> list[tuple[str, str]]:
    return [(name, value) for name, value in response.headers
            if name.startswith("Access-Control-")]


@pytest.mark.parametrize("origins", [["http://localhost:8080"], ["http://localhost:8080", "http://127.0.0.1:8080"]])
def test_cors_headers_are_what_flask_cors_sent(app_with, origins):
    ours = app_with(CORS_ORIGINS=origins).test_client()
    reference = flask_cors_reference(origins).test_client()
    for path in PATHS:
        for method, headers in REQUESTS:
            expected = reference.open(path, method=method, headers=headers)
            got = ours.open(path, method=method, headers=headers)
            assert cors_headers(got) == cors_headers(expected), (path, method, headers)
            if len(origins) > 1 and "Origin" in expected.headers.get("Vary", ""):
                assert "Origin" in got.headers.get("Vary", ""), (path, method, headers)


def test_the_site_origin_is_granted_and_varies(app_with):
    client = app_with(CORS_ORIGINS=["http://localhost:8080", "https://site.example"]).test_client()
    response = client.get("/parametrs", headers={"Origin": "https://site.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://site.example"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers.getlist("Vary").count("Origin") + response.headers["Vary"].count("Origin") >= 1
    assert client.get("/parametrs", headers={"Origin": "https://other.example"}).headers.get(
        "Access-Control-Allow-Origin") is None


def test_a_wildcard_origin_in_the_settings_grants_nobody(app_with):
    client = app_with(CORS_ORIGINS=["*"]).test_client()
    assert "Access-Control-Allow-Origin" not in client.get("/parametrs", headers={"Origin": "http://a.example"}).headers


def limiter_keys() -> list[bytes]:
    return [key for key in redis_client.keys("*") if b"LIMIT" in key.upper()]


def test_unlimited_routes_never_touch_the_limit_storage(app_with):
    client = app_with(RATELIMIT_ENABLED=True).test_client()
    for path in ("/parametrs", "/countries", "/osystems", "/get_balance", "/user_services"):
        response = client.get(path)
        assert "X-RateLimit-Limit" not in response.headers, path
    assert client.post("/calc_price", json={"core": 1, "ram": 1, "ssd": 15}).status_code == 200
    assert limiter_keys() == []


def test_limited_routes_still_count_and_say_so(app_with):
    client = app_with(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="2/minute").test_client()
    answers = [client.post("/login", json={"mail": "ghost@example.com", "passwd": "Whatever1"}) for _ in range(3)]
    assert [answer.status_code for answer in answers[:2]] != [429, 429]
    assert answers[0].headers["X-RateLimit-Limit"] == "2"
    assert answers[2].status_code == 429 and answers[2].json == {"error": "Too many requests"}
    assert limiter_keys()


def test_the_console_still_refuses_a_post_without_csrf_token(app_with):
    client = app_with(WTF_CSRF_ENABLED=True).test_client()
    assert client.post("/console/login", data={"email": "a@example.com", "password": "x"}).status_code == 400


def test_classic_answers_carry_no_session_cookie(client):
    response = client.get("/parametrs")
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get("Vary", "")


def test_kept_catalogue_answers_follow_a_changed_setting(app_with):
    changed = app_with()
    client = changed.test_client()
    quote = {"core": 2, "ram": 2, "ssd": 20, "promo": "NOT"}
    assert client.get("/parametrs").json["pr_ram"] == 10 and client.post("/calc_price", json=quote).json["price"] == 240
    changed.config.update(PR_RAM=25, COUNTRIES=["russia", "finland"], OS_TEMPLATES={"alpine": {}})
    assert client.get("/parametrs").json["pr_ram"] == 25
    assert client.post("/calc_price", json=quote).json["price"] == 270
    assert client.get("/countries").json["countries"] == ["russia", "finland"]
    assert client.get("/osystems").json["oss"] == ["alpine"]
    changed.config.update(MX_RAM=1)
    assert client.post("/calc_price", json=quote).json == {"status": "error", "message": "more max parameters"}
