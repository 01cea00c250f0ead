"""The hottest classic reads, answered before Flask's request cycle, byte for byte as Flask answers them.

The rent page asks for the catalogue on every visit and for a price on every slider move; every
page of the site asks for the balance, the mail or the services. Under gunicorn, Flask's cycle
around them (request and app contexts, routing, a dozen hooks, a Response object) cost more
than the answer itself (README, "Performance"). Here each is a function from the WSGI environ to
(status, body), sent with the headers the app's hooks add to every classic answer: Vary, CORS,
X-Request-ID.

Whatever such a function does not answer goes on to Flask untouched, which answers it as
always: another method or path, a body where none belongs, a cookie that opens no session (it
may be a legacy cookie to adopt), a promocode to look up, an answer not cached yet, an
exception. A route with a rate limit, or limits on every route, is never answered here.
tests/classic/test_hot_reads.py compares every answer with Flask's own.
"""
import io
import logging
from collections.abc import Callable

from flask import Flask
from flask_limiter.util import get_qualified_name
from werkzeug.http import HTTP_STATUS_CODES, parse_cookie

from oxnack_admin.extensions import limiter
from oxnack_admin.logging_setup import REQUEST_ID_HEADER, request_id_of
from .request_hooks import limits_on_every_route
from oxnack_admin.services.accounts import sessions
from oxnack_admin.services.money import promocodes
from oxnack_admin.services.orders import customer_servers
from oxnack_admin.blueprints import account, orders
from .classic import STATE_CHANGING, VARY_BY_ORIGIN, ClassicError, checks_origin
from .request_metrics import ENDPOINT_KEY
from oxnack_admin.blueprints.orders import bodies

log = logging.getLogger(__name__)

MAX_BODY = 4096  # a price request is about 60 bytes; anything larger goes to Flask (and its 413)
Answer = tuple[int, bytes] | None  # None: let Flask answer
Read = Callable[[Flask, dict], Answer]


# What the app's and these blueprints' request hooks do to a hot read's answer is what
# HotReads adds itself (CSRF: exempt blueprints; the size check: no body or a small one; the
# limiter's hooks: no limit was met; the Origin check: HotReads leaves a refused call to Flask).
# A hook not in this list turns the hot reads off.
KNOWN_HOOKS = {"csrf_protect", "_refuse_oversized_body", "refuse_foreign_origin", "_vary_by_origin",
               "add_cors_headers", "echo_request_id", "run_if_a_limit_was_checked"}


def register_hot_reads(app: Flask) -> None:
    """Put the hot reads in front of Flask, for the routes no rate limit applies to."""
    if not app.config["HOT_READS_ENABLED"]:
        return
    unknown = unknown_hooks(app)
    if unknown:
        log.warning("hot reads off: request hooks they do not reproduce: %s", ", ".join(unknown))
        return
    reads = {key: read for key, read in READS.items() if not is_rate_limited(app, *key)}
    if reads:
        app.wsgi_app = HotReads(app, app.wsgi_app, reads)


def unknown_hooks(app: Flask) -> list[str]:
    """Request hooks on the hot reads' routes whose effect HotReads does not reproduce."""
    scopes = {None, *(_endpoint(app, method, path).rpartition(".")[0] for method, path in READS)}
    registries = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs,
                  app.url_value_preprocessors)
    names = [getattr(hook, "__name__", repr(hook)) for registry in registries for scope in scopes
             for hook in registry.get(scope, [])]
    return [name for name in names if name not in KNOWN_HOOKS]


class HotReads:
    """WSGI middleware: `reads[(method, path)]` answers what it can; Flask (`next_app`) the rest."""

    def __init__(self, app: Flask, next_app, reads: dict[tuple[str, str], Read]):
        self.app, self.next_app, self.reads = app, next_app, reads
        self.cors_headers = app.extensions["cors_headers"]
        # Reads whose view refuses a foreign Origin (none today: /calc_price changes nothing).
        self.origin_checked = {key for key in reads if key[0] in STATE_CHANGING
                               and checks_origin(app.view_functions[_endpoint(app, *key)])}
        self.endpoints = {(method, path): _endpoint(app, method, path) for method, path in reads}

    def __call__(self, environ, start_response):
        key = (environ["REQUEST_METHOD"], environ.get("PATH_INFO"))
        read = self.reads.get(key)
        if read is None or (key in self.origin_checked and not self.cors_headers.allows(environ)):
            return self.next_app(environ, start_response)
        try:
            answer = read(self.app, environ)
        except Exception as error:  # Flask answers it as always (and logs it if it fails there too)
            log.debug("hot read of %s left to Flask: %s", environ.get("PATH_INFO"), type(error).__name__)
            answer = None
        if answer is None:
            return self.next_app(environ, start_response)
        status, body = answer
        environ[ENDPOINT_KEY] = self.endpoints[(environ["REQUEST_METHOD"], environ["PATH_INFO"])]  # for /metrics
        # The order Flask's hooks add them in: the blueprint's Vary, then CORS, then the request id.
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), VARY_BY_ORIGIN,
                   *self.cors_headers(environ), (REQUEST_ID_HEADER, request_id_of(environ))]
        start_response(f"{status} {HTTP_STATUS_CODES[status].upper()}", headers)
        return [body]


def is_rate_limited(app: Flask, method: str, path: str) -> bool:
    """Would a rate limit apply to this route (its own, or one on every route)?"""
    if limits_on_every_route(app, limiter):
        return True
    view = app.view_functions[_endpoint(app, method, path)]
    with app.app_context():
        return bool(limiter.limit_manager.decorated_limits(get_qualified_name(view)))


def _endpoint(app: Flask, method: str, path: str) -> str:
    return app.url_map.bind("hot-reads.invalid").match(path, method=method)[0]


# --- The reads ----------------------------------------------------------------------------

def _has_body(environ: dict) -> bool:
    return environ.get("CONTENT_LENGTH", "") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ


def _cached(answer) -> Read:
    """A settings-only answer, once a request through Flask has encoded it."""
    def read(app: Flask, environ: dict) -> Answer:
        if _has_body(environ):
            return None
        body = answer.cached_body(app)
        return None if body is None else (200, body)

    return read


def _encode(app: Flask, payload: dict) -> bytes:
    encode = getattr(app.json, "response_body", None)
    return encode(payload) if encode else app.json.response(payload).get_data()


def _session_token(environ: dict) -> str | None:
    if _has_body(environ) or "HTTP_COOKIE" not in environ:
        return None
    token = parse_cookie(environ).get(sessions.COOKIE_NAME)  # the parser (and rules) of request.cookies
    return token if sessions.plausible_token(token) else None


def _session_read(blueprint, answer_for: Callable[[str], dict | None]) -> Read:
    """A read of the signed-in customer's: `answer_for(token)` is the payload, None when no session opens."""
    def read(app: Flask, environ: dict) -> Answer:
        token = _session_token(environ)
        if token is None:
            return None
        with app.app_context():
            try:
                payload = answer_for(token)
            except ClassicError as error:  # /user_services' 404 "NOT": no servers
                return _classic_error(app, blueprint, error)
            return None if payload is None else (200, _encode(app, payload))

    return read


def _customer_answer(answer: Callable[[sessions.Customer], dict]) -> Callable[[str], dict | None]:
    def answer_for(token: str) -> dict | None:
        customer = sessions.session_customer(token)
        return None if customer is None else answer(customer)

    return answer_for


def _services_answer(token: str) -> dict | None:
    customer, servers = customer_servers.signed_in_services(token, adopt_legacy=False)
    return None if customer is None else orders.services_answer(customer, servers)


def _classic_error(app: Flask, blueprint, error: ClassicError) -> tuple[int, bytes]:
    return error.status, _encode(app, blueprint.shape(error.message))


def read_price(app: Flask, environ: dict) -> Answer:
    length = environ.get("CONTENT_LENGTH", "")
    limit = min(MAX_BODY, app.config.get("MAX_CONTENT_LENGTH") or MAX_BODY)
    if not length.isdigit() or int(length) > limit or "HTTP_TRANSFER_ENCODING" in environ:
        return None
    data = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(data)  # Flask reads the same bytes if it answers after all
    if len(data) < int(length):
        return None
    try:
        body = app.json.loads(data)  # what request.get_json(force=True, silent=True) does
    except ValueError:
        body = None
    try:
        shape, promo = bodies.quote_from(body if isinstance(body, dict) else None)
    except ClassicError as error:
        return _classic_error(app, orders.bp, error)
    if promocodes.normalize(promo) is not None:
        return None  # a code to look up: Flask's view does
    price = orders.PRICES.cached_body(app, shape, 0)
    return None if price is None else (200, price)


READS: dict[tuple[str, str], Read] = {
    ("GET", "/parametrs"): _cached(orders.PARAMETERS),
    ("GET", "/countries"): _cached(orders.COUNTRIES),
    ("GET", "/osystems"): _cached(orders.OPERATING_SYSTEMS),
    ("POST", "/calc_price"): read_price,
    ("GET", "/get_balance"): _session_read(account.bp, _customer_answer(account.balance_answer)),
    ("GET", "/get_mail"): _session_read(account.bp, _customer_answer(account.mail_answer)),
    ("GET", "/user_services"): _session_read(orders.bp, _services_answer),
}
