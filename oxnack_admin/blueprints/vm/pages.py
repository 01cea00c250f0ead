"""The browser console page (noVNC) behind a single-use link, and its single-use WebSocket."""
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, render_template, request, url_for

from oxnack_admin.clients.errors import RemoteError
from oxnack_admin.services.vm import console
from ...extensions import csrf
from ...web import websocket as ws
from ...web.console_relay import HUB, socket_taken_over, take_over

bp = Blueprint("vnc", __name__)
csrf.exempt(bp)

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


@bp.get("/vnc/<token>")
def console_page(token: str):
    try:
        session = console.open_link(token)
    except RemoteError:
        return render_template("vm/console_gone.html", why="The server's screen cannot be reached now "
                               "(is it running?)."), 502, NO_STORE
    if session is None:
        return render_template("vm/console_gone.html", why="This console link was used already or has "
                               "expired; ask for a new one."), 404, NO_STORE
    # A websocket rule builds ws://<host>/...: the page joins the path to its own origin instead.
    path = urlsplit(url_for("vnc.console_socket", token=session.token)).path
    return render_template("vm/console.html", session=session, socket_path=path), 200, NO_STORE


@bp.route("/vnc/<token>/websocket", websocket=True)  # werkzeug matches upgrade requests only to such rules
def console_socket(token: str):
    key = request.headers.get("Sec-WebSocket-Key")
    if request.headers.get("Upgrade", "").lower() != "websocket" or not ws.is_valid_key(key):
        abort(400)
    if HUB.open_sessions >= current_app.config["CONSOLE_MAX_SESSIONS"]:
        abort(503)
    session = console.claim_session(token)
    if session is None:
        abort(404)
    try:
        target = console.upstream_of(session)
    except RemoteError:
        abort(502)
    browser = take_over(request.environ, ws.handshake_response(key, ws.choose_protocol(
        request.headers.get("Sec-WebSocket-Protocol"))))
    if browser is None:
        abort(501)  # a server that does not give the socket away
    HUB.relay(browser, target)
    return socket_taken_over()
