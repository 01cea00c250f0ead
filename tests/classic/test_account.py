"""GET /get_mail, /get_balance, POST /reset_cookie and the session table behind them."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Engine, event, func, select, update

from oxnack_admin.extensions import db
from oxnack_admin.models import User, UserSession
from oxnack_admin.services.accounts import sessions
from tests.support.customers import COOKIE, login_cookie, sign_in
from tests.support.factories import make_server, make_user


def test_get_mail_of_the_signed_in_customer(signed_in):
    response = signed_in.get("/get_mail")
    assert response.status_code == 200
    assert response.json == {"status": "good", "message": "mail", "mail": "customer@example.com"}


def test_get_mail_without_a_session(client):
    response = client.get("/get_mail")
    assert response.status_code == 401 and response.json == {"status": "error", "message": "Unrecognized"}


def test_get_balance_of_the_signed_in_customer(signed_in):
    response = signed_in.get("/get_balance")
    assert response.status_code == 200
    assert response.json == {"status": "good", "balance": 100, "message": "balance got"}


def test_get_balance_keeps_kopecks(client):
    user = make_user(balance=Decimal("12.50"))
    login_cookie(client, user)
    assert client.get("/get_balance").json["balance"] == 12.5


def test_get_balance_without_or_with_a_bad_session(client):
    assert client.get("/get_balance").json == {"status": "error", "message": "unlogin"}
    for token in ("made-up-token", "x" * 300, sessions.hash_token("a")):
        client.set_cookie(COOKIE, token)
        response = client.get("/get_balance")
        assert response.status_code == 401 and response.json == {"status": "error", "message": "unlogin"}


def test_expired_session_is_refused(client, customer):
    token = login_cookie(client, customer)
    db.session.execute(update(UserSession).where(UserSession.token_hash == sessions.hash_token(token))
                       .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    db.session.commit()
    assert client.get("/get_balance").status_code == 401


def test_blocked_customer_session_is_refused(signed_in, customer):
    customer.blocked_at = datetime.now(timezone.utc)
    db.session.commit()
    assert signed_in.get("/get_balance").status_code == 401
    assert signed_in.get("/get_mail").status_code == 401


def test_session_expiry_follows_the_setting(app, customer):
    token = sign_in(customer)
    stored = db.session.scalar(select(UserSession).where(UserSession.token_hash == sessions.hash_token(token)))
    lifetime = stored.expires_at - stored.created_at
    assert abs(lifetime - timedelta(days=app.config["CUSTOMER_SESSION_DAYS"])) < timedelta(minutes=1)


def test_last_seen_is_written_at_most_once_a_minute(signed_in, customer):
    stored = db.session.scalar(select(UserSession).where(UserSession.user_id == customer.id))
    long_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    stored.last_seen_at = long_ago
    db.session.commit()
    signed_in.get("/get_balance")
    db.session.expire_all()
    touched = db.session.scalar(select(UserSession.last_seen_at).where(UserSession.user_id == customer.id))
    assert touched > long_ago + timedelta(minutes=59)
    signed_in.get("/get_balance")
    db.session.expire_all()
    assert db.session.scalar(select(UserSession.last_seen_at).where(UserSession.user_id == customer.id)) == touched


def test_reset_cookie_ends_every_session_of_the_customer_only(app, signed_in, customer):
    other_device = app.test_client()
    login_cookie(other_device, customer)
    stranger = make_user("stranger@example.com")
    stranger_client = app.test_client()
    login_cookie(stranger_client, stranger)

    response = signed_in.post("/reset_cookie")
    assert response.status_code == 200
    assert response.json == {"status": "good", "message": "all sessions ended", "ended": 2}
    assert "session_id=;" in response.headers["Set-Cookie"]
    assert other_device.get("/get_balance").status_code == 401
    assert stranger_client.get("/get_balance").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 1


def test_reset_cookie_without_a_session(client):
    response = client.post("/reset_cookie")
    assert response.status_code == 401 and response.json == {"status": "error", "message": "unlogin"}


@pytest.mark.legacy_ledger  # the sample's old balances never matched a ledger
def test_legacy_cookie_logs_in_once_then_lives_in_sessions(client, legacy_sample):
    client.set_cookie(COOKIE, "a1b2c3legacycookieanna")
    response = client.get("/get_mail")
    assert response.status_code == 200 and response.json["mail"] == "anna@example.com"
    db.session.expire_all()
    anna = db.session.scalar(select(User).where(User.mail == "anna@example.com"))
    assert anna.cookie is None
    stored = db.session.scalar(select(UserSession).where(UserSession.user_id == anna.id))
    assert stored.token_hash == sessions.hash_token("a1b2c3legacycookieanna")
    # The same browser keeps working, now through the sessions table.
    assert client.get("/get_balance").json == {"status": "good", "balance": 340, "message": "balance got"}


@pytest.mark.legacy_ledger  # the sample's old balances never matched a ledger
def test_reset_cookie_also_voids_an_unused_legacy_cookie(client, legacy_sample):
    anna = db.session.scalar(select(User).where(User.mail == "anna@example.com"))
    login_cookie(client, anna)
    assert client.post("/reset_cookie").status_code == 200
    client.set_cookie(COOKIE, "a1b2c3legacycookieanna")
    assert client.get("/get_mail").status_code == 401


@pytest.mark.legacy_ledger  # the sample's old balances never matched a ledger
def test_legacy_cookie_of_a_blocked_customer_is_refused(client, legacy_sample):
    db.session.execute(update(User).where(User.mail == "anna@example.com").values(blocked_at=func.now()))
    db.session.commit()
    client.set_cookie(COOKIE, "a1b2c3legacycookieanna")
    assert client.get("/get_mail").status_code == 401
    assert db.session.scalar(select(User.cookie).where(User.mail == "anna@example.com")) == "a1b2c3legacycookieanna"


@pytest.fixture
def statements(app):
    """SQL statements sent to PostgreSQL while the test runs, through any engine (the app has two pools)."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


def test_balance_and_services_cost_one_query_for_the_session(signed_in, customer, statements):
    make_server(501, busy=True, username=customer.username)
    signed_in.get("/get_balance")  # warm: the first request may touch last_seen_at
    statements.clear()
    assert signed_in.get("/get_balance").status_code == 200
    # One round trip; PREPAREd in it when this pooled connection had not run it yet.
    assert len(statements) == 1 and statements[0].endswith("EXECUTE oxnack_session_lookup (%s)")
    statements.clear()
    assert signed_in.get("/user_services").json["services"][0]["id"] == 501
    assert len(statements) == 1 and "oxnack_session_services" in statements[0]  # the session with its servers


def test_hot_reads_are_prepared_on_the_pooled_connection(app, signed_in, customer):
    from oxnack_admin.extensions import autocommit

    make_server(502, busy=True, username=customer.username)
    for _ in range(6):  # the pool hands out its (at most 5) idle connections in turn: each runs both
        assert signed_in.get("/get_balance").status_code == 200
        assert signed_in.get("/user_services").status_code == 200
    with autocommit.connect() as connection:
        names = set(connection.exec_driver_sql("SELECT name FROM pg_prepared_statements").scalars())
    assert {"oxnack_session_lookup", "oxnack_session_services"} <= names


def test_catalogue_and_price_without_promo_send_no_query(app, client, statements):
    parameters = client.get("/parametrs")
    countries = client.get("/countries")
    systems = client.get("/osystems")
    price = client.post("/calc_price", json={"core": 1, "ram": 1, "ssd": 15, "promo": "NOT"})
    assert statements == []
    # ...and each answered what the rent page needs, from configuration alone.
    assert [r.status_code for r in (parameters, countries, systems, price)] == [200] * 4
    assert parameters.json["status"] == "good" and parameters.json["mx_core"] == app.config["MX_CORE"]
    assert countries.json["countries"] == app.config["COUNTRIES"]
    assert systems.json["oss"] == list(app.config["OS_TEMPLATES"])
    assert price.json["status"] == "good" and price.json["price"] == 170
