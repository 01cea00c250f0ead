"""Logging with a request id on every line, so one request can be followed across lines."""
import json
import logging
import os
from datetime import datetime, timezone

from flask import Flask, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_ENVIRON_KEY = "oxnack.request_id"


def request_id() -> str:
    """This request's id: a proxy's when short and printable, else 16 random hex digits; made once."""
    return request_id_of(request.environ)


def request_id_of(environ: dict) -> str:
    """request_id() of the request with this WSGI environ (also for answers made outside Flask)."""
    found = environ.get(_ENVIRON_KEY)
    if found is None:
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        found = environ[_ENVIRON_KEY] = (incoming if 0 < len(incoming) <= 64 and incoming.isprintable()
                                         else os.urandom(8).hex())
    return found


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() if has_request_context() else getattr(record, "request_id", "-")
        return True


class JsonFormatter(logging.Formatter):
    """LOG_FORMAT=json: one JSON object per line for a log shipper, with the request id.

    Only the message the code wrote is kept (never a record's args apart, nor extra fields), so
    what reaches the log is what every log call already vets: no passwords, tokens or bodies.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name,
                 "request_id": getattr(record, "request_id", "-"), "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


def configure_logging(app: Flask) -> None:
    root = logging.getLogger()
    ours = [h for h in root.handlers if any(isinstance(f, RequestIdFilter) for f in h.filters)]
    formatter = JsonFormatter() if app.config.get("LOG_FORMAT") == "json" else logging.Formatter(TEXT_FORMAT)
    for handler in ours:
        handler.setFormatter(formatter)
    if not ours:
        handler = logging.StreamHandler()
        handler.setFormatter(formatter)
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    # Alembic announces each of its plugins at INFO whenever it is imported: noise on every start.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    # Made on first use (a log line or the response), not in a before_request hook of its own.
    @app.after_request
    def echo_request_id(response):
        response.headers[REQUEST_ID_HEADER] = request_id()
        return response
