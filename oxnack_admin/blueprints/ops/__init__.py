"""The operator's endpoints: GET /status (every dependency) and GET /metrics (Prometheus); others see 404."""
from flask import Blueprint, Response, abort, current_app, jsonify, request

from oxnack_admin.services.ops import access, metrics, status

bp = Blueprint("ops", __name__)


@bp.get("/status")
def show_status():
    allowed = access.in_networks(request.remote_addr, current_app.config["STATUS_ALLOWED_NETWORKS"])
    if not allowed and not (request.authorization is not None and access.admin_token(request.headers.get("Authorization"))):
        abort(404)  # not even its existence is told to others
    response = jsonify(status.report())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
def show_metrics():
    if not current_app.config["METRICS_ENABLED"] or not access.in_networks(
            request.remote_addr, current_app.config["METRICS_ALLOWED_NETWORKS"]):
        abort(404)
    body, content_type = metrics.render()
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
