"""GET /openapi.json: the OpenAPI 3 description of the classic endpoints."""
from flask import Blueprint, current_app

from . import spec

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def openapi_document():
    # Built once per app: it depends on configuration only.
    document = current_app.extensions.get("oxnack_openapi")
    if document is None:
        document = current_app.extensions["oxnack_openapi"] = spec.build()
    return document
