"""GET /health: is this process able to reach PostgreSQL and Redis?"""
from flask import Blueprint

from oxnack_admin.services.ops import health

bp = Blueprint("health", __name__)


@bp.get("/health")
def show_health():
    report = health.check()
    return report, 200 if report["status"] == "ok" else 503
