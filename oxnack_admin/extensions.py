"""Extension instances, created unbound; create_app() binds them to an app."""
import redis
from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import Connection, MetaData, create_engine
from sqlalchemy.orm import DeclarativeBase

from .web.request_hooks import ExactOriginCors

# Deterministic constraint names so migrations can drop what they created.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RedisClient:
    """One pooled Redis connection per app, shared by codes, locks, queues and health."""

    def init_app(self, app: Flask) -> None:
        app.extensions["redis"] = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
        )

    @property
    def connection(self) -> redis.Redis:
        return current_app.extensions["redis"]

    def __getattr__(self, name):
        return getattr(self.connection, name)


class AutocommitEngine:
    """A second pool on the app's database whose statements each commit on their own.

    For one-statement reads on hot paths: no BEGIN and ROLLBACK round trips around them, and
    no planning either: `fetch` prepares each named statement once per pooled connection
    (PostgreSQL PREPARE, sent with the first EXECUTE in the same round trip). Anything that
    must be atomic uses `db.session`. A pool of its own, because switching a pooled
    connection's isolation level costs psycopg2 a round trip each way.

    No pre-ping here, whatever DATABASE_PRE_PING says: it would double the round trips of the
    hottest reads. A statement that finds its connection gone (PostgreSQL restarted, or ended
    the backend) runs once more on a new one instead, which these reads and touches allow.
    """

    def init_app(self, app: Flask) -> None:
        options = {**app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}), "isolation_level": "AUTOCOMMIT",
                   "pool_reset_on_return": None,  # nothing to roll back between autocommit statements
                   "pool_pre_ping": False}
        app.extensions["autocommit_engine"] = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], **options)

    def connect(self) -> Connection:
        return current_app.extensions["autocommit_engine"].connect()

    def fetch(self, name: str, sql: str, params: tuple) -> list[tuple]:
        """Rows of `sql` (placeholders $1, $2, ...) run as the prepared statement `name`."""
        def execute(engine, connection) -> list[tuple]:
            prepared = connection.info.setdefault("prepared_statements", set())
            call = f"EXECUTE {name} ({', '.join(['%s'] * len(params))})" if params else f"EXECUTE {name}"
            statement = call if name in prepared else f"PREPARE {name} AS {sql}; {call}"
            with connection.dbapi_connection.cursor() as cursor:
                _announce(engine, cursor, statement, params)
                cursor.execute(statement, params)
                prepared.add(name)
                return cursor.fetchall()

        return self._on_raw_connection(execute)

    def run(self, sql: str, params: tuple) -> None:
        """One statement (placeholders %s), unprepared: for rare writes beside the hot reads."""
        def execute(engine, connection) -> None:
            with connection.dbapi_connection.cursor() as cursor:
                _announce(engine, cursor, sql, params)
                cursor.execute(sql, params)

        self._on_raw_connection(execute)

    @staticmethod
    def _on_raw_connection(work):
        engine = current_app.extensions["autocommit_engine"]
        try:
            return _attempt(engine, work)
        except ConnectionLost as lost:
            # The pool was emptied of connections as old as the lost one; a second loss is an
            # outage, answered as any database error.
            try:
                return _attempt(engine, work)
            except ConnectionLost as again:
                raise again.__cause__ from lost.__cause__


class ConnectionLost(Exception):
    """The database connection was gone (PostgreSQL restarted or ended it); __cause__ is the driver's error."""


def _attempt(engine, work):
    # A plain call, not a @contextmanager: its generator costs microseconds on every hot read.
    connection = engine.raw_connection()
    try:
        return work(engine, connection)
    except Exception as error:
        if engine.dialect.is_disconnect(error, connection.dbapi_connection, None):
            # Every connection pooled before this one died is as dead (a restart ends them all):
            # the pool replaces them at their next checkout, as SQLAlchemy's own Connection does.
            engine.pool._invalidate(connection, error)
            raise ConnectionLost() from error
        # The connection's state (prepared or not, still open) is unknown now: never reuse it.
        connection.invalidate()
        raise
    finally:
        connection.close()


def _announce(engine, cursor, statement: str, params: tuple) -> None:
    # These statements bypass SQLAlchemy's Connection; tools that watch its statement event
    # (query counters in tests, tracing) still see them. Free when nothing listens.
    listeners = engine.dispatch.before_cursor_execute
    if listeners:
        for listener in listeners:
            listener(None, cursor, statement, params, None, False)


db = SQLAlchemy(model_class=Base)
autocommit = AutocommitEngine()
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()
cors = ExactOriginCors()
redis_client = RedisClient()
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
