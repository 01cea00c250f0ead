"""After PostgreSQL ends the app's connections (a restart does), the next requests get no 5xx.

Both pools: Flask-SQLAlchemy's engine tests a connection on checkout (DATABASE_PRE_PING); the
hot reads' autocommit pool runs a statement once more on a new connection when it finds its own gone.
"""
import psycopg2
import pytest
from sqlalchemy.engine import make_url

from oxnack_admin.extensions import db
from tests.support.customers import COOKIE, sign_in
from tests.support.factories import DEFAULT_PASSWORD, make_user

APP_NAME = "oxnack-reconnect-test"
# The hot reads: the autocommit pool (before Flask, and again through Flask's views).
RAW_POOL_CALLS = [("GET", "/get_balance", None), ("GET", "/get_mail", None), ("GET", "/user_services", None)]
# Views that read or write through db.session.
SESSION_CALLS = [("POST", "/login", {"mail": "pool@example.com", "passwd": DEFAULT_PASSWORD}),
                 ("GET", "/api/external-proxy/orders", None), ("POST", "/control_server", {"server_id": 9, "action": "stop"})]


def backends(database_url: str, terminate: bool) -> int:
    """How many connections the app under test holds; ended first when `terminate`."""
    url = make_url(database_url)
    admin = psycopg2.connect(dbname=url.database, user=url.username, password=url.password, host=url.host,
                             port=url.port)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            if terminate:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                               (APP_NAME,))
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (APP_NAME,))
            return cursor.fetchone()[0]
    finally:
        admin.close()


def fill_pool(engine, size: int = 3) -> None:
    """Leave `size` open connections in the engine's pool, as a busy process has (one dead one per pool proves little)."""
    connections = [engine.raw_connection() for _ in range(size)]
    for connection in connections:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        connection.close()


@pytest.fixture
def pooled_app(app_with):
    def build(pre_ping: bool):
        app = app_with(DATABASE_PRE_PING=pre_ping, PROPAGATE_EXCEPTIONS=False, SQLALCHEMY_ENGINE_OPTIONS={
            "pool_size": 3, "max_overflow": 3, "connect_args": {"application_name": APP_NAME}})
        with app.app_context():
            token = sign_in(make_user("pool@example.com", balance=10))
            fill_pool(db.engine)
            fill_pool(app.extensions["autocommit_engine"])
        client = app.test_client()
        client.set_cookie(COOKIE, token)
        return app, client

    return build


def answers(client, calls) -> list[tuple[str, int]]:
    return [(path, client.open(path, method=method, json=body).status_code) for method, path, body in calls]


@pytest.mark.parametrize("pre_ping", [True, False], ids=["pre-ping on", "pre-ping off"])
def test_requests_after_the_backends_were_terminated_get_no_5xx(pooled_app, database_url, pre_ping):
    app, client = pooled_app(pre_ping)
    calls = RAW_POOL_CALLS + (SESSION_CALLS if pre_ping else [])  # the raw pool reconnects with or without
    assert all(status < 500 for _, status in answers(client, calls))
    assert backends(database_url, terminate=False) >= 6
    backends(database_url, terminate=True)
    for _ in range(3):
        after = answers(client, calls)
        assert all(status < 500 for _, status in after), after
    assert dict(after)["/get_balance"] == 200 and (not pre_ping or dict(after)["/login"] == 200)


def test_without_pre_ping_a_session_view_draws_a_dead_connection(pooled_app, database_url):
    """What DATABASE_PRE_PING buys: off, the first session view after the restart answers 500."""
    app, client = pooled_app(False)
    assert answers(client, SESSION_CALLS[:1]) == [("/login", 200)]
    backends(database_url, terminate=True)
    assert answers(client, SESSION_CALLS[:1]) == [("/login", 500)]

