"""The old market API (legacy port 7001): GET /services, the marketplace page's list.

Errors answer {"error": "err"}, the only error the old API had.
"""
from oxnack_admin.services.orders import catalogue
from ...web.classic import ClassicBlueprint, error_message

bp = ClassicBlueprint("market", __name__, shape=error_message, messages=dict.fromkeys(
    (400, 401, 403, 404, 405, 413, 429, 500), "err"))


@bp.get("/services")
def list_services():
    return [service.to_legacy_json() for service in catalogue.enabled_market_services()]
