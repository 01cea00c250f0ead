"""Users › Duplicate mails: legacy accounts sharing one address, and choosing the one that keeps it."""
from flask import request, url_for
from flask_login import current_user

from ...extensions import db
from ...models.enums import StaffRole
from oxnack_admin.services.accounts import duplicates
from . import bp
from .access import role_required
from .rendering import action_refused, action_result, render

PAGE, FRAGMENT = "console/users/duplicates.html", "console/users/_duplicates.html"


@bp.get("/users/duplicates")
@role_required(StaffRole.SUPPORT)
def users_duplicates():
    return render(PAGE, FRAGMENT, **_context())


@bp.post("/users/duplicates/resolve")
@role_required(StaffRole.ADMIN)
def users_duplicates_resolve():
    back = url_for("console.users_duplicates")
    key = request.form.get("mail", "")[:320]
    try:
        keeper = int(request.form.get("keeper", ""))
    except ValueError:
        return action_refused("Choose the account that keeps the address.", 422, back)
    try:
        moved = duplicates.resolve(key, keeper, current_user)
    except duplicates.DuplicateError as error:
        db.session.rollback()
        return action_refused(str(error), 409, back)
    db.session.commit()
    return action_result(f"{key} stays with user {keeper}; moved aside from user(s) {', '.join(map(str, moved))}.",
                         FRAGMENT, back, **_context())


def _context() -> dict:
    return {"groups": duplicates.groups(), "login_order": duplicates.LOGIN_ORDER}
