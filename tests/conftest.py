"""Fixtures: one app per test run on real PostgreSQL and Redis, a clean slate for each test."""
import pytest
from flask import has_app_context
from flask_migrate import upgrade
from oxnack_admin import create_app
from oxnack_admin.extensions import db, redis_client
from tests.support.database import empty_everything
from tests.support.ledger import ledger_mismatches
from tests.support.servers import fresh_database, postgres_server, redis_server

pytest_plugins = ["tests.support.browser"]

TEST_RELAY_PASSWORD = "relay-test-password"
TEST_SITE_ORIGIN = "http://localhost:8080"


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives real headless Chromium")
    config.addinivalue_line("markers", "legacy_ledger: loads legacy rows whose old ledger never matched the "
                                       "balances; the ledger invariant is not checked after it")


@pytest.fixture(scope="session")
def postgres_url():
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def database_url(postgres_url):
    with fresh_database(postgres_url) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url():
    with redis_server() as url:
        yield url


def make_test_config(database_url: str, redis_url: str, **overrides) -> dict:
    """The configuration every test app starts from."""
    config = {
        "TESTING": True,
        "OXNACK_ENV": "development",
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "COOKIE_SECURE": False,
        "CORS_ORIGINS": [TEST_SITE_ORIGIN],
        "MAIL_RELAY_PASSWORD": TEST_RELAY_PASSWORD,
        "MAIL_RELAY_BIND": "",  # test clients have no real listener; tests/classic/test_mail_relay.py checks it
        "WTF_CSRF_ENABLED": False,  # tests that check CSRF build an app with it on
        "RATELIMIT_ENABLED": False,  # rate-limit tests build an app with it on
        "SMTP_HOST": "",
        "HYPERVISOR": "simulator",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 5, "max_overflow": 30},
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def app(database_url, redis_url):
    app = create_app(make_test_config(database_url, redis_url))
    with app.app_context():
        upgrade()
        # The database is new for this run; the Redis one may not be (clean_state flushes after each test only).
        redis_client.flushdb()
    return app


@pytest.fixture
def runner(app):
    """Flask's CLI runner (flaskr's fixture; pytest-flask has none)."""
    return app.test_cli_runner()


@pytest.fixture(autouse=True)
def clean_state(request):
    """Every test starts with empty tables and an empty Redis database."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    # Close the test's own session first (pytest-flask keeps its context pushed until later):
    # an open transaction would block TRUNCATE.
    if has_app_context():
        db.session.remove()
    with app.app_context():
        mismatches = []
        if request.node.get_closest_marker("legacy_ledger") is None:
            with db.engine.connect() as connection:
                mismatches = ledger_mismatches(connection)
        empty_everything()
        db.session.remove()
    if mismatches:
        pytest.fail("ledger invariant broken (balance != sum of CONFIRMED transactions): "
                    + "; ".join(f"user {m.id} <{m.mail}> balance {m.balance} ledger {m.ledger}" for m in mismatches),
                    pytrace=False)
