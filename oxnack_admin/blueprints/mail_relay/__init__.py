"""The internal mail relay (legacy port 7003): POST /send_mail with the shared password.

Answers {"status": ...}: "sended", "err_missing_fields", "err Unrecognized", "error".
Served only on the relay listener (MAIL_RELAY_BIND) to MAIL_RELAY_ALLOWED_NETWORKS; anywhere else
it is 404 {"status": "err_not_found"}, as if it did not exist.
"""
from flask import request

from oxnack_admin.services.mail import mail_relay
from ...web.classic import ClassicBlueprint, ClassicError, bare_status, json_object, rate_limited, text

# No Origin check: internal servers call it with the shared password, never a browser with a cookie.
bp = ClassicBlueprint("mail_relay", __name__, shape=bare_status, check_origin=False, messages={
    400: "err_missing_fields", 401: "err Unrecognized", 403: "err Unrecognized", 404: "err_not_found",
    405: "err_method_not_allowed", 413: "err_too_large", 429: "err_rate_limited", 500: "error"})
FIELDS = ("to_email", "email_subject", "email_body", "api_passwd")


@bp.errorhandler(mail_relay.RelayRefused)
def refuse(error: mail_relay.RelayRefused):
    return bp.error_response(400, "err_bad_fields")


def recipient() -> str | None:
    """Per-"account" limit of the relay: the recipient, so one address cannot be flooded."""
    body = json_object()
    return f"to:{body['to_email'].strip().lower()[:254]}" if body and text(body.get("to_email")) else None


@bp.before_request
def only_for_internal_callers() -> None:
    # Before the rate limit and the body: an outsider learns nothing, not even that it exists.
    if not mail_relay.is_internal_caller(request.remote_addr, _local_port()):
        raise ClassicError(404, "err_not_found")


def _local_port() -> int | None:
    """The port of the listener this request came in on (not the Host header, which the client writes)."""
    sock = request.environ.get("gunicorn.socket")
    if sock is not None:
        try:
            return sock.getsockname()[1]
        except (OSError, IndexError, TypeError):
            pass
    port = request.environ.get("SERVER_PORT", "")
    return int(port) if port.isdigit() else None


@bp.post("/send_mail")
@rate_limited("RATELIMIT_MAIL_RELAY", account=recipient)
def send_mail():
    body = json_object() or {}
    values = [body.get(field) for field in FIELDS]
    # The body may be empty text; the others must say something.
    if not all(isinstance(value, str) for value in values) or not all(text(v) for v in values[:2] + values[3:]):
        raise ClassicError(400, "err_missing_fields")
    to_email, subject, message, password = values
    if not mail_relay.is_authorized(password):
        raise ClassicError(401, "err Unrecognized")
    mail_relay.relay(to_email, subject, message)
    return {"status": "sended"}
