"""The hot reads answer exactly what Flask answers, header for header, and leave everything else to it."""
from datetime import datetime, timedelta, timezone

import pytest
from flask import request, request_started
from sqlalchemy import update

from oxnack_admin.web.hot_reads import READS, HotReads, is_rate_limited, register_hot_reads, unknown_hooks
from oxnack_admin.extensions import db
from oxnack_admin.models import UserSession
from oxnack_admin.services.accounts import sessions
from tests.support.customers import sign_in
from tests.support.factories import make_promocode, make_server, make_user

ORIGINS = {  # the request's Origin header, or none
    "no origin": {},
    "the site": {"Origin": "http://localhost:8080"},
    "the site, upper case": {"Origin": "HTTP://LOCALHOST:8080"},
    "another site": {"Origin": "http://evil.example"},
    "private network": {"Origin": "http://localhost:8080", "Access-Control-Request-Private-Network": "true"},
}
CATALOGUE = ["/parametrs", "/countries", "/osystems"]
PRICE_BODIES = {
    "a quote": {"core": 2, "ram": 2, "ssd": 20, "promo": "NOT"},
    "empty promo": {"core": 1, "ram": 1, "ssd": 15, "promo": ""},
    "no promo": {"core": 1, "ram": 1, "ssd": 15},
    "hdd spelling": {"core": 2, "ram": 4, "hdd": 30, "promo": "NOT"},
    "fields missing": {"core": 2, "ram": 2},
    "beyond the limits": {"core": 99, "ram": 2, "ssd": 20, "promo": "NOT"},
    "wrong types": {"core": "2", "ram": True, "ssd": 20.5, "promo": "NOT"},
    "a real code": {"core": 2, "ram": 2, "ssd": 20, "promo": "HOT20"},
    "an unknown code": {"core": 2, "ram": 2, "ssd": 20, "promo": "NOPE"},
}
PRICE_RAW_BODIES = {"not JSON": b"{core: 2", "a JSON list": b"[1, 2]", "empty": b"", "huge": b"x" * 20_000}


def has_hot_reads(app) -> bool:
    """Is HotReads one of the app's WSGI layers (under the request metrics and the connection closer)?"""
    layer = app.wsgi_app
    while layer is not None and not isinstance(layer, HotReads):
        layer = getattr(layer, "next_app", None) or getattr(layer, "app", None)
    return layer is not None


@pytest.fixture
def both(app_with):
    """(hot, flask_only, answered_by_flask): two apps that differ only in the hot reads."""
    def build(**overrides):
        hot, cold = app_with(**overrides), app_with(HOT_READS_ENABLED=False, **overrides)
        assert has_hot_reads(hot) and not has_hot_reads(cold)
        seen = []
        request_started.connect(lambda sender, **_: seen.append(request.path), hot, weak=False)
        return hot, cold, seen
    return build


def same_answer(hot, cold, method, path, *, cookie=None, **options):
    """Both apps' answer to one request; asserts status, headers (in order) and body are equal."""
    options.setdefault("headers", {})["X-Request-ID"] = "hot-reads-test"
    answers = []
    for app in (hot, cold):
        client = app.test_client()
        if cookie:
            client.set_cookie(sessions.COOKIE_NAME, cookie)
        answers.append(client.open(path, method=method, **options))
    got, expected = answers
    described = (method, path, options.get("headers"), cookie and cookie[:12], options.get("json"),
                 options.get("data", b"")[:20])
    assert got.status == expected.status, described
    assert list(got.headers) == list(expected.headers), described
    assert got.data == expected.data, described
    return got


@pytest.mark.parametrize("origins", [["http://localhost:8080"], ["http://localhost:8080", "http://127.0.0.1:8080"]])
def test_catalogue_and_prices_match_flask_and_skip_it_once_cached(both, origins):
    hot, cold, answered_by_flask = both(CORS_ORIGINS=origins)
    for path in CATALOGUE:
        same_answer(hot, cold, "GET", path)  # the first answer is made (and kept) by Flask's view
    make_promocode("HOT20", discount=20)
    for body in PRICE_BODIES.values():
        same_answer(hot, cold, "POST", "/calc_price", json=body)
    answered_by_flask.clear()
    for headers in ORIGINS.values():
        for path in CATALOGUE:
            assert same_answer(hot, cold, "GET", path, headers=dict(headers)).status_code == 200
            assert same_answer(hot, cold, "GET", path + "?v=2", headers=dict(headers)).status_code == 200
        for body in PRICE_BODIES.values():
            same_answer(hot, cold, "POST", "/calc_price", json=body, headers=dict(headers))
        for data in PRICE_RAW_BODIES.values():
            same_answer(hot, cold, "POST", "/calc_price", data=data, headers=dict(headers, **{
                "Content-Type": "application/json"}))
    # Flask saw only what needs it: two codes to look up, a quote beyond the limits (never cached),
    # a body over 4 KB and one without a Content-Length.
    assert set(answered_by_flask) == {"/calc_price"}
    assert len(answered_by_flask) == 5 * len(ORIGINS)


def test_requests_the_hot_reads_do_not_take_still_match_flask(both):
    hot, cold, answered_by_flask = both()
    for path in CATALOGUE:
        same_answer(hot, cold, "GET", path)
    answered_by_flask.clear()
    same_answer(hot, cold, "HEAD", "/parametrs")
    same_answer(hot, cold, "GET", "/parametrs/")
    same_answer(hot, cold, "GET", "/parametrs", data=b'{"a": 1}')  # a body where none belongs
    same_answer(hot, cold, "OPTIONS", "/parametrs", headers={"Origin": "http://localhost:8080",
                                                             "Access-Control-Request-Method": "GET"})
    same_answer(hot, cold, "PUT", "/calc_price", json=PRICE_BODIES["a quote"])
    assert answered_by_flask == ["/parametrs", "/parametrs/", "/parametrs", "/parametrs", "/calc_price"]


@pytest.mark.parametrize("origins", [["http://localhost:8080"], ["http://localhost:8080", "http://127.0.0.1:8080"]])
def test_session_reads_match_flask_and_skip_it(both, origins):
    hot, cold, answered_by_flask = both(CORS_ORIGINS=origins)
    with hot.app_context():
        owner = make_user("owner@example.com", balance=250, date_start="01.02.2025", date_stop="01.03.2025")
        make_server(901, busy=True, status="on", username=owner.username)
        make_server(902, busy=True, status="off", username=owner.username, ips=[" 203.0.113.7 ", None])
        owner_token = sign_in(owner)
        newcomer_token = sign_in(make_user("new@example.com"))  # no servers: /user_services says 404
    for headers in ORIGINS.values():
        for token in (owner_token, newcomer_token):
            for path in ("/get_balance", "/get_mail", "/user_services"):
                same_answer(hot, cold, "GET", path, cookie=token, headers=dict(headers))
    assert answered_by_flask == []


def test_cookies_that_open_no_session_are_answered_by_flask(both):
    hot, cold, answered_by_flask = both()
    with hot.app_context():
        blocked = make_user("blocked@example.com", blocked_at=datetime.now(timezone.utc))
        blocked_token = sign_in(blocked)
        expired_token = sign_in(make_user("expired@example.com"))
        db.session.execute(update(UserSession).where(UserSession.token_hash == sessions.hash_token(expired_token))
                           .values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
        db.session.commit()
    cookies = [None, "not-a-session", blocked_token, expired_token, "x" * 300, "bad\x01token"]
    for cookie in cookies:
        for path in ("/get_balance", "/get_mail", "/user_services"):
            assert same_answer(hot, cold, "GET", path, cookie=cookie).status_code == 401
    assert len(answered_by_flask) == len(cookies) * 3


@pytest.mark.legacy_ledger  # the sample's old balances never matched a ledger
def test_a_legacy_cookie_is_still_adopted_through_flask(both, legacy_sample):
    hot, _, answered_by_flask = both()
    client = hot.test_client()
    client.set_cookie(sessions.COOKIE_NAME, "a1b2c3legacycookieanna")
    assert client.get("/get_mail").json["mail"] == "anna@example.com"
    assert answered_by_flask == ["/get_mail"]  # adopted there, into the sessions table
    assert client.get("/user_services").status_code in (200, 404)
    assert client.get("/get_balance").status_code == 200
    assert answered_by_flask == ["/get_mail"]  # and from then on a session like any other


def test_with_the_database_down_both_answer_the_legacy_500(both, database_url):
    unreachable = database_url.rsplit("/", 1)[0] + "/oxnack_no_such_database"
    hot, cold, answered_by_flask = both(SQLALCHEMY_DATABASE_URI=unreachable, TESTING=False)
    answer = same_answer(hot, cold, "GET", "/get_balance", cookie="some-session-token")
    assert answer.status_code == 500 and answer.json == {"status": "error", "message": "server error"}
    assert answered_by_flask == ["/get_balance"]


def test_a_route_with_a_rate_limit_is_never_answered_here(app):
    # Every hot read is unlimited today; the guard is what keeps a limit added later from being skipped.
    assert is_rate_limited(app, "POST", "/login") and is_rate_limited(app, "POST", "/create_machine")
    assert not any(is_rate_limited(app, method, path) for method, path in READS)


def test_a_request_hook_they_do_not_reproduce_turns_them_off(app_with):
    app = app_with(HOT_READS_ENABLED=False)
    app.after_request(lambda response: response)  # say, a security header added some day
    app.config["HOT_READS_ENABLED"] = True
    register_hot_reads(app)
    assert not has_hot_reads(app)
    assert unknown_hooks(app) == ["<lambda>"]
