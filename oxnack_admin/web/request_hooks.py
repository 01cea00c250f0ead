"""Per-request work only where a route needs it: the classic endpoints are the app's hot path.

Measured with py-spy under wrk (README, "Performance"): Flask-Limiter's hooks and flask-cors
ran on every request, also on routes with no limit. Each cut here keeps the observable
behaviour. (The CSRF hook stays app-wide: it costs about 1 % and guards every blueprint a
later change may add.)
"""
from functools import partial

from flask import Flask, Response, request
from flask.globals import _cv_request
from flask_limiter import Limiter

CONSOLE_BLUEPRINT = "console"
# What flask-cors sends for a preflight with its defaults, which the app always used.
CORS_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
# Same-origin only: the console's pages (not the classic /console_link call), static files, media.
CORS_EXCLUDED_PREFIXES = ("/console/", "/static/", "/media/")


def limit_only_limited_routes(app: Flask, limiter: Limiter) -> None:
    """Flask-Limiter's hooks, only on requests that met a limit.

    Every limit of this app decorates its view, and a decorated view checks its limits itself;
    the app-wide before_request hook only evaluates default, application and blueprint limits,
    which are configured nowhere. Called once every blueprint is registered. Its after_request
    hook (X-RateLimit-* headers) and teardown only matter once a limit was evaluated, which
    leaves the limiter's context on the request.
    """
    if limits_on_every_route(app, limiter):
        return  # keep every hook
    app.before_request_funcs[None] = [hook for hook in app.before_request_funcs.get(None, [])
                                      if getattr(hook, "__self__", None) is not limiter]
    app.after_request_funcs[None] = [_when_limited(hook) if _is_limiter_hook(hook, limiter) else hook
                                     for hook in app.after_request_funcs.get(None, [])]
    app.teardown_request_funcs[None] = [_when_limited(hook) if _is_limiter_hook(hook, limiter) else hook
                                        for hook in app.teardown_request_funcs.get(None, [])]


def limits_on_every_route(app: Flask, limiter: Limiter) -> bool:
    """Is a default, application or blueprint limit configured (a limit no view declares)?"""
    manager = limiter.limit_manager
    return any(app.config.get(name) for name in ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION")) \
        or bool(manager._default_limits or manager._application_limits or manager._blueprint_limits)


def _is_limiter_hook(hook, limiter: Limiter) -> bool:
    if isinstance(hook, partial):
        return bool(hook.args) and hook.args[0] is limiter
    return getattr(hook, "__self__", None) is limiter


def _when_limited(hook):
    def run_if_a_limit_was_checked(argument):
        if hasattr(_cv_request.get(), "_limiter_request_context"):
            return hook(argument)
        return argument if isinstance(argument, Response) else None

    run_if_a_limit_was_checked.__qualname__ = f"when_limited({getattr(hook, '__qualname__', hook)!s})"
    return run_if_a_limit_was_checked


def remember_cookie_on_console_only(app: Flask, login_manager) -> None:
    """Flask-Login's after_request hook (the remember-me cookie) runs on the console blueprint only.

    Staff sign in only there; elsewhere the hook read the session, which made every classic
    answer `Vary: Cookie` and the empty session's save do work. CSRF stays app-wide.
    """
    hooks = app.after_request_funcs.get(None, [])
    moved = [hook for hook in hooks if getattr(hook, "__self__", None) is login_manager]
    app.after_request_funcs[None] = [hook for hook in hooks if hook not in moved]
    app.after_request_funcs[CONSOLE_BLUEPRINT] = [*moved, *app.after_request_funcs.get(CONSOLE_BLUEPRINT, [])]


def has_header(headers, name: str) -> bool:
    """`name in headers`, without the exception (and its cost) Werkzeug's lookup raises on a miss."""
    name = name.lower()
    return any(key.lower() == name for key, _ in headers)


class ExactOriginCors:
    """CORS for the legacy site: its exact origins with credentials, headers built once.

    Sends what flask-cors sent with the app's former options (origins from CORS_ORIGINS,
    supports_credentials, every other option default) for every path outside the console,
    static files and media; flask-cors matched origins per request against each pattern.
    """

    def init_app(self, app: Flask) -> None:
        headers_for = app.extensions["cors_headers"] = CorsHeaders(app.config["CORS_ORIGINS"])

        def add_cors_headers(response: Response) -> Response:
            environ = request.environ
            path = environ.get("PATH_INFO", "")
            if path.startswith(CORS_EXCLUDED_PREFIXES) or path == "/console" \
                    or has_header(response.headers, "Access-Control-Allow-Origin"):
                return response
            response.headers.extend(headers_for(environ))
            return response

        app.after_request(add_cors_headers)


class CorsHeaders:
    """`headers_for(environ)`: the CORS headers of an answer to that request, for the configured origins."""

    def __init__(self, configured: list[str]):
        origins = [origin for origin in configured if origin != "*"]
        self.by_origin = {origin.casefold(): origin for origin in origins}
        self.vary = len(origins) > 1  # flask-cors says Vary: Origin only when the answer can vary
        # Without an Origin header flask-cors "always sends" the first configured origin (sorted).
        self.no_origin = [("Access-Control-Allow-Origin", origin) for origin in sorted(origins)[:1]]
        if self.no_origin:
            self.no_origin.append(("Access-Control-Allow-Credentials", "true"))
            if self.vary:
                self.no_origin.append(("Vary", "Origin"))

    def allows(self, environ: dict) -> bool:
        """May this request change state: no Origin header (not a browser's cross-origin call), or one configured?"""
        origin = environ.get("HTTP_ORIGIN")
        return not origin or origin.casefold() in self.by_origin

    def __call__(self, environ: dict) -> list[tuple[str, str]]:
        origin = environ.get("HTTP_ORIGIN")
        if not origin:
            return self.no_origin
        if origin.casefold() not in self.by_origin:
            return []
        headers = [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")]
        if environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK") == "true":
            headers.append(("Access-Control-Allow-Private-Network", "false"))
        if environ["REQUEST_METHOD"] == "OPTIONS":
            _add_preflight_headers(headers, environ)
        if self.vary:
            headers.append(("Vary", "Origin"))
        return headers


def _add_preflight_headers(headers: list, environ: dict) -> None:
    method = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "").upper()
    if not method or method not in CORS_METHODS:  # flask-cors tests `in` on the joined string
        return
    requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
    if requested:
        allowed = ", ".join(sorted(name.strip() for name in requested.split(",")))
        if allowed:
            headers.append(("Access-Control-Allow-Headers", allowed))
    headers.append(("Access-Control-Allow-Methods", CORS_METHODS))
