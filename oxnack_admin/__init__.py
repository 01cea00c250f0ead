"""Oxnack Admin: the one Flask application of the Oxnack VPS hosting provider."""
from flask import Flask

from .settings import load_config


def create_app(config: dict | None = None) -> Flask:
    """Build an app; `config` overrides every other source (tests pass theirs here)."""
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, config)
    register_json(app)
    register_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    trim_request_hooks(app)
    # WSGI layers, innermost first: the proxy's view of the client first, the hot reads last.
    register_hot_reads(app)
    register_connection_close(app)
    register_proxy(app)
    register_request_metrics(app)
    return app


def register_json(app: Flask) -> None:
    from .web.json_provider import OrjsonProvider, StdlibProvider

    app.json = OrjsonProvider(app) if app.config["JSON_ENCODER"] == "orjson" else StdlibProvider(app)


def register_hot_reads(app: Flask) -> None:
    """The hottest classic reads answered before Flask's request cycle (web/hot_reads.py)."""
    from .web.hot_reads import register_hot_reads as register

    register(app)


def register_request_metrics(app: Flask) -> None:
    """Outermost: every answer counted by endpoint and status, the hot reads too (METRICS_ENABLED)."""
    if app.config["METRICS_ENABLED"]:
        from .web.request_metrics import RequestMetrics

        app.wsgi_app = RequestMetrics(app, app.wsgi_app)


def register_proxy(app: Flask) -> None:
    """Behind a reverse proxy, the client's address comes from X-Forwarded-For (rate limits key on it)."""
    hops = app.config["PROXY_FIX_X_FOR"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def register_connection_close(app: Flask) -> None:
    """An answer sent before the request body was read closes its connection (see web/http_connection.py)."""
    from .web.http_connection import CloseUnreadBody

    app.wsgi_app = CloseUnreadBody(app.wsgi_app)


def register_logging(app: Flask) -> None:
    from .logging_setup import configure_logging

    configure_logging(app)


def register_extensions(app: Flask) -> None:
    from . import models  # noqa: F401  (every table known to SQLAlchemy and Alembic)
    from .extensions import autocommit, cors, csrf, db, htmx, limiter, login_manager, migrate, redis_client

    from .web.console_session import ConsoleOnlySessionInterface

    app.session_interface = ConsoleOnlySessionInterface()
    db.init_app(app)
    autocommit.init_app(app)
    migrate.init_app(app, db, directory=str(app.config.get("MIGRATIONS_DIR", _migrations_dir())))
    redis_client.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    # The legacy site calls from its own origin with credentials; the console is same-origin only.
    cors.init_app(app)


def trim_request_hooks(app: Flask) -> None:
    """The hot path pays only for what its routes use (README, "Performance")."""
    from .extensions import limiter, login_manager
    from .web.request_hooks import limit_only_limited_routes, remember_cookie_on_console_only

    limit_only_limited_routes(app, limiter)
    remember_cookie_on_console_only(app, login_manager)


def register_blueprints(app: Flask) -> None:
    from .blueprints import register_all

    register_all(app)


def register_commands(app: Flask) -> None:
    from .cli import register_all

    register_all(app)


def _migrations_dir() -> str:
    from .settings import PROJECT_ROOT

    return str(PROJECT_ROOT / "migrations")
