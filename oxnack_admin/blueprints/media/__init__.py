"""GET /media/<name>: images uploaded in the console (market services), public like the old links."""
from flask import Blueprint, send_from_directory

from oxnack_admin.services.market.admin import upload_folder

bp = Blueprint("media", __name__)


@bp.get("/media/<path:filename>")
def serve(filename: str):
    response = send_from_directory(upload_folder(), filename, max_age=24 * 3600)
    response.headers["X-Content-Type-Options"] = "nosniff"  # an image is only ever an image
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response
