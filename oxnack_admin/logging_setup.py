"""Logging with a request id on every line, so one request can be followed across lines."""
import logging
import secrets

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else getattr(record, "request_id", "-")
        return True


def configure_logging(app: Flask) -> None:
    root = logging.getLogger()
    if not any(isinstance(f, RequestIdFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    # Alembic announces each of its plugins at INFO whenever it is imported: noise on every start.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    @app.before_request
    def assign_request_id():
        # Trust a proxy's id when it is short and printable; otherwise make our own.
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else secrets.token_hex(8)

    @app.after_request
    def echo_request_id(response):
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "-")
        return response
