"""Reachability of the two servers every request depends on."""
import logging

from sqlalchemy import text

from oxnack_admin.extensions import db, redis_client

log = logging.getLogger(__name__)


def check() -> dict:
    """{"status": "ok"|"error", "db": "ok"|"unreachable", "redis": ...}; never raises."""
    report = {"db": _probe("db", lambda: db.session.execute(text("SELECT 1"))),
              "redis": _probe("redis", redis_client.ping)}
    report["status"] = "ok" if all(v == "ok" for v in report.values()) else "error"
    return report


def _probe(name: str, call) -> str:
    try:
        call()
        return "ok"
    except Exception as error:  # any failure means unreachable; details go to the log, not the client
        log.warning("health: %s unreachable: %s", name, error.__class__.__name__)
        if name == "db":
            db.session.rollback()
        return "unreachable"
