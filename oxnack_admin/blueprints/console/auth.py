"""Staff sign-in, sign-out and password change."""
import logging
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from ...extensions import db, limiter
from ...models.enums import StaffRole
from oxnack_admin.services.staff import audit, two_factor
from oxnack_admin.services.staff.staff import StaffError, authenticate, change_password
from . import bp
from .access import role_required
from .forms import LoginForm, PasswordForm
from .rendering import action_result, form_invalid, render
from .two_factor import await_second_factor

log = logging.getLogger(__name__)


def _staff_login_limit() -> str:
    return current_app.config["RATELIMIT_STAFF_LOGIN"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_staff_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("console.dashboard_view"))
    form = LoginForm()
    if form.validate_on_submit():
        staff = authenticate(form.email.data, form.password.data)
        if staff is not None and two_factor.is_enrolled(staff):
            await_second_factor(staff, _safe_next(request.args.get("next")))
            db.session.commit()
            return redirect(url_for("console.login_code"))
        if staff is not None:
            session.clear()  # nothing from before sign-in survives into the staff session
            login_user(staff)
            audit.record(staff, "staff.login", "staff", staff.id)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        db.session.rollback()
        log.warning("console: failed sign-in for %r from %s", form.email.data, request.remote_addr)
        form.form_errors.append("Wrong e-mail or password, or the account is deactivated.")
    status = 422 if request.method == "POST" else 200
    return render_template("console/auth/login.html", form=form), status


@bp.post("/logout")
@role_required(StaffRole.SUPPORT)
def logout():
    audit.record(current_user, "staff.logout", "staff", current_user.id)
    current_user.end_all_sessions()  # signing out here signs out every device, a stolen cookie included
    db.session.commit()
    logout_user()
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("console.login"), 303)


@bp.route("/password", methods=["GET", "POST"])
@role_required(StaffRole.SUPPORT)
def password():
    form = PasswordForm()
    page = "console/auth/password.html"
    if not form.validate_on_submit():
        if request.method == "POST":
            return form_invalid(page, "console/auth/_password_form.html", form=form)
        return render(page, "console/auth/_password_form.html", form=form)
    try:
        change_password(current_user, form.new_password.data)
    except StaffError as error:
        form.new_password.errors.append(str(error))
        return form_invalid(page, "console/auth/_password_form.html", form=form)
    audit.record(current_user, "staff.change_password", "staff", current_user.id)
    db.session.commit()
    login_user(current_user._get_current_object())  # this session goes on under the new generation
    return action_result("Password changed.", "console/auth/_password_form.html", url_for("console.dashboard_view"),
                         form=PasswordForm(formdata=None))


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: an attacker's ?next= must not send staff elsewhere."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/console/") and "\\" not in target:
            return target
    return url_for("console.dashboard_view")
