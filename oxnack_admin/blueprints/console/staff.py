"""Staff accounts (owners only): create, change role, deactivate and reactivate."""
from flask import abort, request, url_for
from flask_login import current_user

from ...extensions import db
from ...models import Staff
from ...models.enums import StaffRole
from oxnack_admin.services.staff import staff_admin
from oxnack_admin.services.staff.staff import StaffError
from . import bp
from .access import role_required
from .forms import NewStaffForm
from .rendering import action_refused, action_result, form_invalid, render

PAGES = ("console/staff/page.html", "console/staff/_panels.html")


@bp.get("/staff")
@role_required(StaffRole.OWNER)
def staff():
    return render(*PAGES, **_context(NewStaffForm(formdata=None)))


@bp.post("/staff")
@role_required(StaffRole.OWNER)
def staff_create():
    form = NewStaffForm()
    if not form.validate_on_submit():
        return form_invalid(*PAGES, **_context(form))
    try:
        created = staff_admin.create(form.email.data, form.role.data, form.password.data, form.name.data or None,
                                     current_user)
    except StaffError as error:
        db.session.rollback()
        form.email.errors.append(str(error))
        return form_invalid(*PAGES, **_context(form))
    db.session.commit()
    return action_result(f"Staff account {created.email} ({created.role}) created.", PAGES[1],
                         url_for("console.staff"), **_context(NewStaffForm(formdata=None)))


@bp.post("/staff/<int:staff_id>/role")
@role_required(StaffRole.OWNER)
def staff_role(staff_id: int):
    member = _staff_or_404(staff_id)
    role = request.form.get("role", "")
    return _act(lambda: staff_admin.set_role(member, role, current_user), f"{member.email} is now {role}.")


@bp.post("/staff/<int:staff_id>/deactivate")
@role_required(StaffRole.OWNER)
def staff_deactivate(staff_id: int):
    member = _staff_or_404(staff_id)
    return _act(lambda: staff_admin.set_active(member, False, current_user), f"{member.email} is deactivated.")


@bp.post("/staff/<int:staff_id>/activate")
@role_required(StaffRole.OWNER)
def staff_activate(staff_id: int):
    member = _staff_or_404(staff_id)
    return _act(lambda: staff_admin.set_active(member, True, current_user), f"{member.email} is active again.")


@bp.post("/staff/<int:staff_id>/reset-2fa")
@role_required(StaffRole.OWNER)
def staff_reset_2fa(staff_id: int):
    member = _staff_or_404(staff_id)
    return _act(lambda: staff_admin.reset_two_factor(member, current_user),
                f"{member.email}'s two-factor sign-in is reset; they set it up again at their next sign-in.")


def _act(change, message: str):
    try:
        change()
    except StaffError as error:
        db.session.rollback()
        return action_refused(str(error), 409, url_for("console.staff"))
    db.session.commit()
    return action_result(message, PAGES[1], url_for("console.staff"), **_context(NewStaffForm(formdata=None)))


def _context(form: NewStaffForm) -> dict:
    return {"members": staff_admin.all_staff(), "form": form, "roles": [r.value for r in StaffRole],
            "two_factor": staff_admin.two_factor_states()}


def _staff_or_404(staff_id: int) -> Staff:
    return db.session.get(Staff, staff_id) or abort(404)
