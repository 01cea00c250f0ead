"""Staff-only JSON calls (proxy sync and stats, /debug/cache): `Authorization: Bearer <staff API token>`.

One decorator for all of them: 401 {"status":"error","message":"unauthorized"} without a valid
token (missing, unknown, revoked, or its staff member deactivated), 403 "forbidden" for too low a role.
"""
from functools import wraps

from flask import g, jsonify, request

from ..models.enums import StaffRole
from oxnack_admin.services.staff import api_tokens
from .classic import any_origin, status_error


def _refuse(status: int, message: str):
    response = jsonify(status_error(message))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="oxnack-staff"'
    response.headers["Cache-Control"] = "no-store"
    return response


def staff_token_required(min_role: StaffRole | str = StaffRole.ADMIN):
    """The view runs only for a valid staff API token of at least `min_role`; `g.api_staff` is its holder."""
    needed = StaffRole(min_role)

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            holder = api_tokens.holder_of(api_tokens.bearer_token(request.headers.get("Authorization")))
            if holder is None:
                return _refuse(401, "unauthorized")
            if not holder.has_role(needed):
                return _refuse(403, "forbidden")
            g.api_staff = holder
            return view(*args, **kwargs)

        wrapped.required_token_role = needed
        return any_origin(wrapped)  # the bearer token authenticates; a cross-site page cannot send it

    return decorator


def current_api_staff() -> api_tokens.TokenHolder:
    """The holder of this request's token (only inside a view decorated with staff_token_required)."""
    return g.api_staff
