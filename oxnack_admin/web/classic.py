"""What every classic JSON blueprint shares: its error shape, strict bodies, the customer session, limits.

The legacy site and callers check JSON fields, never HTML: each blueprint answers every error
(its own, and Flask's 400/401/404/403/405/413/429/500) in one legacy shape.

No CSRF token (the site sends none) and bodies of any Content-Type, text/plain included, which a
page of any origin may POST without a preflight; SameSite=Strict does not stop a sibling
subdomain. So a state-changing call whose Origin header names a site outside CORS_ORIGINS is
refused (403) before its view runs. No Origin (curl, servers) is allowed: browsers always send one
on such cross-origin calls. Views no cookie authenticates opt out with `any_origin`.
"""
from collections.abc import Callable

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import Forbidden, HTTPException, MethodNotAllowed, RequestEntityTooLarge

from ..extensions import csrf, db, limiter
from .request_hooks import has_header
from ..models import User
from oxnack_admin.services.accounts import sessions
from oxnack_admin.services.accounts.customers import is_storable

ErrorShape = Callable[[str], dict]
VARY_BY_ORIGIN = ("Vary", "Origin")
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
GENERIC_MESSAGES = {400: "bad request", 401: "unauthorized", 403: "forbidden", 404: "not found",
                    405: "method not allowed", 413: "request body too large", 429: "too many requests",
                    500: "server error"}


def error_message(message: str) -> dict:
    """The auth service's shape (was port 7004) and the market's."""
    return {"error": message}


def status_error(message: str) -> dict:
    """The servers/balance service's shape (was port 7002)."""
    return {"status": "error", "message": message}


def bare_status(message: str) -> dict:
    """The mail relay's shape (was port 7003)."""
    return {"status": message}


class ClassicError(Exception):
    """Answer `status` with `message` in the blueprint's shape."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class ClassicBlueprint(Blueprint):
    """A blueprint whose errors are JSON in one shape; CSRF-exempt (the legacy site sends no token)."""

    def __init__(self, name: str, import_name: str, *, shape: ErrorShape, messages: dict[int, str] | None = None,
                 check_origin: bool = True):
        super().__init__(name, import_name)
        self.shape = shape
        self.messages = {**GENERIC_MESSAGES, **(messages or {})}
        self.register_error_handler(ClassicError, self._answer_classic_error)
        self.register_error_handler(HTTPException, self._answer_http_error)
        self.before_request(_refuse_oversized_body)
        if check_origin:
            self.before_request(refuse_foreign_origin)
        self.after_request(_vary_by_origin)
        csrf.exempt(self)

    def error_response(self, status: int, message: str) -> Response:
        response = jsonify(self.shape(message))
        response.status_code = status
        return response

    def add_url_rule(self, rule, endpoint=None, view_func=None, provide_automatic_options=None, **options):
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)
        if view_func is None:
            return
        # Werkzeug answers a wrong method while routing, before any blueprint is known, so only
        # the app's (HTML) handler would see it: route the other methods here and refuse them.
        allowed = sorted({method.upper() for method in options.get("methods") or ["GET"]})
        refused = sorted(HTTP_METHODS - set(allowed))
        if refused:
            super().add_url_rule(rule, f"{endpoint or view_func.__name__}_refused", _refuse_method(allowed),
                                 provide_automatic_options=False, methods=refused)

    def _answer_classic_error(self, error: ClassicError) -> Response:
        return self.error_response(error.status, error.message)

    def _answer_http_error(self, error: HTTPException) -> Response:
        status = error.code or 500
        response = self.error_response(status, self.messages.get(status, GENERIC_MESSAGES[500]))
        if status == 405 and getattr(error, "valid_methods", None):
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response


def _refuse_oversized_body() -> None:
    # Before anything else, so a 1 GB upload gets 413 whether or not the view would read it.
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()


def any_origin(view):
    """Mark a view no browser cookie authenticates (server callbacks, staff tokens): any Origin may call it."""
    view.checks_origin = False
    return view


def checks_origin(view) -> bool:
    """Does refuse_foreign_origin guard this view's state-changing calls?"""
    return getattr(view, "checks_origin", True)


def refuse_foreign_origin() -> None:
    # Named so blueprints/hot_reads.py knows the hook: it applies the same rule itself.
    if request.method in STATE_CHANGING and checks_origin(current_app.view_functions.get(request.endpoint)) \
            and not origin_allowed(request.environ):
        raise Forbidden()


def origin_allowed(environ: dict) -> bool:
    """No Origin header, or one of CORS_ORIGINS (compared as the CORS headers compare it)."""
    return current_app.extensions["cors_headers"].allows(environ)


def _vary_by_origin(response: Response) -> Response:
    # CORS headers depend on Origin; flask-cors only says so when several origins are configured.
    if has_header(response.headers, "Vary"):
        response.vary.add("Origin")  # merged into the existing header, as Werkzeug does
    else:
        response.headers.add(*VARY_BY_ORIGIN)  # the same header, without parsing a set that is not there
    return response


def _refuse_method(allowed: list[str]):
    @any_origin  # it changes nothing: a wrong method is 405 whoever calls
    def refuse_method(**_):
        raise MethodNotAllowed(valid_methods=[*allowed, "OPTIONS"])

    return refuse_method


# --- Bodies -----------------------------------------------------------------------------

def json_object() -> dict | None:
    """The body as a JSON object, whatever the Content-Type (the old site is not careful); else None."""
    body = request.get_json(force=True, silent=True)
    return body if isinstance(body, dict) else None


def whole_number(value) -> int | None:
    """`value` if it is a JSON integer (not a bool, float or numeric string), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def text(value) -> str | None:
    """`value` if it is a non-empty JSON string that can be stored and mailed, else None."""
    return value if isinstance(value, str) and value.strip() and is_storable(value) else None


# --- The customer session ----------------------------------------------------------------

_CUSTOMER_KEY = "oxnack.customer"


def current_customer() -> sessions.Customer | None:
    """The customer of this request's `session_id` cookie (one query, remembered for the request)."""
    # Kept on the request, not on `g`: an app context can outlive a request (tests, CLI).
    environ = request.environ
    if _CUSTOMER_KEY not in environ:
        environ[_CUSTOMER_KEY] = sessions.customer_for_token(request.cookies.get(sessions.COOKIE_NAME))
    return environ[_CUSTOMER_KEY]


def require_customer(message: str) -> sessions.Customer:
    """The signed-in customer, or a 401 with this endpoint's legacy message."""
    customer = current_customer()
    if customer is None:
        raise ClassicError(401, message)
    return customer


def require_customer_record(message: str) -> User:
    """The signed-in customer's `User` row, for views that change it; or a 401 as require_customer()."""
    user = db.session.get(User, require_customer(message).id)
    if user is None:
        raise ClassicError(401, message)
    return user


def set_session_cookie(response: Response, token: str) -> Response:
    config = current_app.config
    response.set_cookie(sessions.COOKIE_NAME, token, max_age=config["CUSTOMER_SESSION_DAYS"] * 86400,
                        httponly=True, samesite="Strict", secure=config["COOKIE_SECURE"], path="/")
    return response


def clear_session_cookie(response: Response) -> Response:
    response.delete_cookie(sessions.COOKIE_NAME, httponly=True, samesite="Strict",
                           secure=current_app.config["COOKIE_SECURE"], path="/")
    return response


# --- Rate limits ---------------------------------------------------------------------------

def _limits_off() -> bool:
    # Checked per request, not only at init: the limiter object is shared by every app in a process.
    return not current_app.config.get("RATELIMIT_ENABLED", True)


def client_ip() -> str:
    return request.remote_addr or "unknown"


def mail_in_body() -> str | None:
    """The account a login/registration/code request is about: its e-mail, lower-cased."""
    body = json_object()
    address = text(body.get("mail")) if body else None
    return address.strip().lower()[:254] if address else None


def signed_in_account() -> str | None:
    user = current_customer()
    return f"user:{user.id}" if user else None


def rate_limited(setting: str, account: Callable[[], str | None]):
    """Limit a view per client IP and per account, both to the limits in config[setting]."""
    def limit_value() -> str:
        return current_app.config[setting]

    per_ip = limiter.limit(limit_value, key_func=client_ip, scope="ip", exempt_when=_limits_off)
    per_account = limiter.limit(limit_value, key_func=lambda: account() or "", scope="account",
                                exempt_when=lambda: _limits_off() or not account())

    def decorate(view):
        return per_ip(per_account(view))

    return decorate
