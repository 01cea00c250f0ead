"""Classic calls on the VM itself (port 7002's shape): usage, reinstall, a browser console link.

`server_id` is a JSON number in a body and plain digits in a query string; anything else is 400.
"""
import re

from flask import current_app, request, url_for

from oxnack_admin.clients.errors import RemoteError
from oxnack_admin.models import Server
from oxnack_admin.services.fleet import states
from oxnack_admin.services.orders import customer_servers
from oxnack_admin.services.provisioning import reinstall
from oxnack_admin.services.vm import console, usage
from ...extensions import db
from ...web.classic import ClassicBlueprint, ClassicError, json_object, require_customer, require_customer_record, \
    status_error, whole_number

bp = ClassicBlueprint("vm", __name__, shape=status_error)

MAX_SERVER_ID = 2 ** 31 - 1  # servers.id is a PostgreSQL integer
SERVER_ID_REQUIRED = "server_id required"
_DIGITS = re.compile(r"[1-9][0-9]{0,9}")


@bp.get("/server_stats")
def server_stats():
    server = _owned_server(_query_server_id())
    timeframe = request.args.get("timeframe", "")
    if timeframe not in usage.TIMEFRAMES:
        raise ClassicError(400, "bad timeframe")
    try:
        points = usage.usage(server, timeframe)
    except RemoteError:
        raise ClassicError(502, "stats unavailable") from None
    return {"status": "good", "timeframe": timeframe, "points": points}


@bp.post("/reinstall_server")
def reinstall_server():
    user = require_customer_record("unlogin")
    body = json_object()
    server_id = body_server_id(body)
    try:
        reinstall.request_reinstall(server_id, user, (body or {}).get("os"))
    except reinstall.ReinstallRefused as refused:
        db.session.rollback()
        raise ClassicError(refused.status, refused.message) from None
    db.session.commit()
    return {"status": "success", "message": "reinstall started"}, 202


@bp.post("/console_link")
def console_link():
    server = _owned_server(body_server_id(json_object()))
    if states.state_of(server) != states.ACTIVE:
        raise ClassicError(409, "server busy")
    link = console.create_link(server)
    return {"status": "success", "url": console_url(link.token),
            "expires_at": link.expires_at.isoformat().replace("+00:00", "Z")}


def console_url(token: str) -> str:
    """The link as an absolute URL on our own origin (PUBLIC_BASE_URL when the app sits behind a proxy)."""
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url
    return base.rstrip("/") + url_for("vnc.console_page", token=token)


def _query_server_id() -> int:
    """Digits only: "1.0", "true", "+1", " 1" and "0x1" are refused, like a fraction or a bool in JSON."""
    values = request.args.getlist("server_id")
    if len(values) != 1 or not _DIGITS.fullmatch(values[0]) or int(values[0]) > MAX_SERVER_ID:
        raise ClassicError(400, SERVER_ID_REQUIRED)
    return int(values[0])


def body_server_id(body: dict | None) -> int:
    """A JSON integer (not a bool, fraction or string) in the body's server_id."""
    server_id = whole_number((body or {}).get("server_id"))
    if server_id is None or not 0 < server_id <= MAX_SERVER_ID:
        raise ClassicError(400, SERVER_ID_REQUIRED)
    return server_id


def _owned_server(server_id: int) -> Server:
    """The signed-in customer's server: 401 unlogin, 404 unknown or foreign, 403 suspended."""
    customer = require_customer("unlogin")
    server = customer_servers.owned_server(customer, server_id)
    if server is None:
        raise ClassicError(404, "not found")
    if states.state_of(server) == states.SUSPENDED:
        raise ClassicError(403, "server suspended")
    return server
