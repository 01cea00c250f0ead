"""Staff two-factor sign-in: the code after the password, enrolment, and the rule that enrolment comes first."""
import time

import segno
from flask import current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user
from markupsafe import Markup

from ...extensions import db, limiter
from ...models import Staff
from ...models.enums import StaffRole
from oxnack_admin.services.staff import audit, two_factor
from oxnack_admin.services.staff.two_factor import TwoFactorError
from . import bp
from .access import load_staff, role_required
from .forms import RecoveryCodeForm, SecondFactorForm
from .rendering import render

PAGES = ("console/auth/two_factor.html", "console/auth/_two_factor.html")

PENDING = "staff_2fa_pending"  # in the session between a right password and its code
# What a member who must enrol may still open.
OPEN_BEFORE_ENROLMENT = {"console.two_factor_view", "console.two_factor_confirm", "console.logout", "console.login",
                         "console.login_code", "static"}


def _staff_login_limit() -> str:
    return current_app.config["RATELIMIT_STAFF_LOGIN"]


def await_second_factor(staff: Staff, next_url: str) -> None:
    """The password was right: remember who signs in, not yet signed in, until the code comes."""
    session.clear()
    session[PENDING] = {"staff": staff.get_id(), "at": time.time(), "next": next_url}


@bp.before_request
def _enrolment_first():
    """A member of STAFF_2FA_REQUIRED_ROLES without 2FA is sent to enrol before any other console page."""
    if request.endpoint in OPEN_BEFORE_ENROLMENT:
        return None
    if not current_user.is_authenticated or not two_factor.needs_enrolment(current_user):
        return None
    target = url_for("console.two_factor_view")
    if getattr(request, "htmx", False):
        return "", 204, {"HX-Redirect": target}
    return redirect(target)


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_staff_login_limit, methods=["POST"])
def login_code():
    pending = session.get(PENDING) or {}
    staff = load_staff(pending.get("staff", ""))
    max_age = current_app.config["STAFF_2FA_PENDING_MINUTES"] * 60
    if staff is None or time.time() - pending.get("at", 0) > max_age:
        session.pop(PENDING, None)
        return redirect(url_for("console.login"))
    form, recovery = SecondFactorForm(), RecoveryCodeForm()
    use_recovery = "recovery_code" in request.form
    used = recovery if use_recovery else form
    if used.validate_on_submit():
        try:
            if use_recovery:
                two_factor.use_recovery_code(staff, recovery.recovery_code.data)
            else:
                two_factor.verify(staff, form.code.data)
        except TwoFactorError as error:
            db.session.commit()  # the failure counts (and may lock), whatever the answer
            used.form_errors.append(str(error))
        else:
            session.clear()
            login_user(staff)
            audit.record(staff, "staff.login", "staff", staff.id,
                         after={"second_factor": "recovery code" if use_recovery else "totp"})
            db.session.commit()
            return redirect(pending.get("next") or url_for("console.dashboard_view"))
    status = 422 if request.method == "POST" else 200
    return render_template("console/auth/login_code.html", form=form, recovery=recovery,
                           use_recovery=use_recovery), status


@bp.get("/two-factor")
@role_required(StaffRole.SUPPORT)
def two_factor_view():
    return _enrolment_page(SecondFactorForm(formdata=None))


@bp.post("/two-factor")
@role_required(StaffRole.SUPPORT)
def two_factor_confirm():
    form = SecondFactorForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(current_user, form.code.data)
        except TwoFactorError as error:
            db.session.rollback()
            form.code.errors.append(str(error))
        else:
            db.session.commit()
            return render("console/auth/recovery_codes.html", "console/auth/_recovery_codes.html", codes=codes)
    return _enrolment_page(form, 422)


def _enrolment_page(form: SecondFactorForm, status: int = 200):
    staff = current_user._get_current_object()
    if two_factor.is_enrolled(staff):
        return render(*PAGES, http_status=status, enrolled=True, recovery_left=two_factor.unused_recovery_codes(staff))
    secret = two_factor.pending_secret(staff)
    db.session.commit()
    uri = two_factor.provisioning_uri(staff, secret)
    qr = Markup(segno.make(uri, error="m").svg_inline(scale=5, title="Scan with your authenticator app"))
    return render(*PAGES, http_status=status, enrolled=False, form=form, qr=qr,
                  secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
                  required=two_factor.required_for(staff))
