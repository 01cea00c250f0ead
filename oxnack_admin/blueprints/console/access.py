"""Who may use the console: Flask-Login for staff, and one decorator that checks the role."""
from functools import wraps

from flask import abort, redirect, request, url_for
from flask_login import current_user

from ...extensions import db, login_manager
from ...models import Staff
from ...models.enums import StaffRole


def configure_login(login_manager_) -> None:
    """Staff sign-in lives in the Flask session cookie; customers' session_id is never consulted."""
    login_manager_.login_view = "console.login"
    login_manager_.login_message = "Please sign in to use the console."
    login_manager_.user_loader(load_staff)
    login_manager_.unauthorized_handler(_unauthorized)


def load_staff(session_id: str) -> Staff | None:
    """The signed-in staff member, from "<id>.<generation>" (Staff.get_id).

    A deactivated account, or a session from before the member's last sign-out or password
    change (a stolen cookie), is signed out on its next request.
    """
    staff_id, _, generation = str(session_id).partition(".")
    try:
        staff = db.session.get(Staff, int(staff_id))
        generation = int(generation)
    except (TypeError, ValueError):
        return None
    if staff is None or not staff.active or generation != (staff.session_generation or 0):
        return None
    return staff


def _unauthorized():
    back_to = request.full_path.rstrip("?") if request.method == "GET" else None
    login_url = url_for("console.login", next=back_to)
    if getattr(request, "htmx", False):
        # A redirect would be swapped into a fragment; ask htmx to navigate the whole page instead.
        return "", 401, {"HX-Redirect": login_url}
    return redirect(login_url)


def role_required(role: StaffRole | str):
    """Signed-in staff with at least `role`; anonymous → login, too low a role → 403."""
    needed = StaffRole(role)

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(needed):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_role = needed
        return wrapped

    return decorator


def can(role: StaffRole | str) -> bool:
    """For templates: show an action only to staff who may use it (the route checks again)."""
    return current_user.is_authenticated and current_user.has_role(role)
