"""Staff API tokens in the console: create one for yourself (shown once), list with last use, revoke."""
from flask import abort, url_for
from flask_login import current_user

from ...extensions import db
from ...models import StaffApiToken
from ...models.enums import StaffRole
from oxnack_admin.services.staff import api_tokens
from . import bp
from .access import role_required
from .forms import NewTokenForm
from .rendering import action_refused, action_result, form_invalid, render, wants_fragment, with_toast

PAGES = ("console/api_tokens/page.html", "console/api_tokens/_panels.html")


@bp.get("/tokens")
@role_required(StaffRole.ADMIN)
def tokens():
    return render(*PAGES, **_context(NewTokenForm(formdata=None)))


@bp.post("/tokens")
@role_required(StaffRole.ADMIN)
def tokens_create():
    form = NewTokenForm()
    if not form.validate_on_submit():
        return form_invalid(*PAGES, **_context(form))
    try:
        row, token = api_tokens.issue(current_user, form.name.data, current_user)
    except api_tokens.TokenError as error:
        db.session.rollback()
        form.name.errors.append(str(error))
        return form_invalid(*PAGES, **_context(form))
    db.session.commit()
    # Answered with the page itself, never a redirect: the token exists only in this response.
    response = render(*PAGES, **_context(NewTokenForm(formdata=None), new_token=token, new_row=row))
    if wants_fragment():
        with_toast(response, f"Token \"{row.name}\" created; copy it now.")
    return response


@bp.post("/tokens/<int:token_id>/revoke")
@role_required(StaffRole.ADMIN)
def tokens_revoke(token_id: int):
    row = db.session.get(StaffApiToken, token_id)
    if row is None or not api_tokens.may_manage(current_user, row):
        abort(404)
    try:
        api_tokens.revoke(row, current_user)
    except api_tokens.TokenError as error:
        db.session.rollback()
        return action_refused(str(error), 409, url_for("console.tokens"))
    db.session.commit()
    return action_result(f"Token {row.prefix}… revoked.", PAGES[1], url_for("console.tokens"),
                         **_context(NewTokenForm(formdata=None)))


def _context(form: NewTokenForm, **extra) -> dict:
    return {"tokens": api_tokens.visible_tokens(current_user), "form": form,
            "sees_all": current_user.has_role(StaffRole.OWNER), **extra}
