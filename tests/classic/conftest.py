"""Fixtures of the classic endpoint tests: signed-in customers, the legacy sample, other app configurations."""
from pathlib import Path

import pytest
from rq import Queue

from oxnack_admin import create_app
from oxnack_admin.extensions import db, redis_client
from tests.conftest import TEST_SITE_ORIGIN, make_test_config
from tests.support.customers import login_cookie
from tests.support.factories import make_user

LEGACY_SAMPLE = Path(__file__).parent.parent / "data" / "legacy_sample.sql"
SITE = {"Origin": TEST_SITE_ORIGIN}


@pytest.fixture
def customer(app):
    return make_user("customer@example.com", balance=100)


@pytest.fixture
def signed_in(client, customer):
    """The test client with `customer` signed in."""
    login_cookie(client, customer)
    return client


@pytest.fixture
def legacy_sample(app):
    """The rows of ../shared/legacy_sample.sql in the (migrated) test database."""
    connection = db.engine.raw_connection()
    try:
        with connection.cursor() as cursor:  # the driver's own: the sample has literal '%' signs
            cursor.execute(LEGACY_SAMPLE.read_text())
        connection.commit()
    finally:
        connection.close()


@pytest.fixture
def app_with(app, database_url, redis_url):
    """Build another app on the same database and Redis, e.g. app_with(RATELIMIT_ENABLED=True).

    Depends on `app` so the schema exists and the shared test app was created first.
    """
    def build(**overrides):
        return create_app(make_test_config(database_url, redis_url, **overrides))

    return build


def queued_jobs(queue_name: str) -> list:
    return Queue(queue_name, connection=redis_client.connection).get_jobs()
