"""Emptying the test database and Redis between tests (and between a property test's examples)."""
from sqlalchemy import text

from oxnack_admin.extensions import db, redis_client


def empty_everything() -> None:
    """TRUNCATE every table (ids restart at 1) and flush the test Redis database; needs an app context.

    The caller closes its own session first: an open transaction would block TRUNCATE.
    """
    tables = [table.name for table in db.metadata.sorted_tables]
    with db.engine.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '20s'"))  # a leaked transaction fails, not hangs
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    redis_client.flushdb()
