"""Customers: search, the account page, and the staff actions on an account."""
from flask import abort, request, url_for
from flask_login import current_user

from ...extensions import db
from ...models import User
from ...models.enums import StaffRole
from oxnack_admin.services.accounts import admin as accounts_admin, duplicates
from oxnack_admin.services.money.ledger import InsufficientFunds
from oxnack_admin.services.accounts.admin import CustomerActionError
from oxnack_admin.services.telegram import admin as telegram_admin, chats as telegram_chats
from ...services.paging import ListParams
from . import bp
from .access import role_required
from .forms import STALE_FORM, AdjustBalanceForm
from .rendering import action_refused, action_result, render, with_toast

DETAIL_PAGE, DETAIL_FRAGMENT = "console/users/show.html", "console/users/_detail.html"


@bp.get("/users")
@role_required(StaffRole.SUPPORT)
def users():
    params = ListParams.from_args(request.args, accounts_admin.SORTS, "id", "desc", accounts_admin.FILTERS)
    return render("console/users/page.html", "console/users/_table.html", params=params,
                  page=accounts_admin.search_users(params), duplicate_groups=duplicates.count_groups())


@bp.get("/users/<int:user_id>")
@role_required(StaffRole.SUPPORT)
def users_show(user_id: int):
    return _detail(_user_or_404(user_id))


@bp.post("/users/<int:user_id>/balance")
@role_required(StaffRole.ADMIN)
def users_balance(user_id: int):
    user = _user_or_404(user_id)
    form = AdjustBalanceForm()
    if not form.validate_on_submit():
        toast = STALE_FORM if form.submit_token.errors else "Please correct the highlighted fields."
        return _detail(user, form, status=422, toast=toast)
    try:
        row = accounts_admin.adjust_balance(user, form.parsed_amount, form.reason.data, current_user,
                                            submit_token=form.submit_token.data)
    except (CustomerActionError, InsufficientFunds) as error:
        db.session.rollback()
        message = "The balance does not cover this debit." if isinstance(error, InsufficientFunds) else str(error)
        form.amount.errors.append(message)
        return _detail(user, form, status=422, toast=message)
    db.session.commit()
    if row is None:
        return _done(user, f"This adjustment was already made (the form was sent twice); nothing changed. "
                           f"The balance is {user.balance}.", level="info")
    return _done(user, f"Balance adjusted by {form.parsed_amount}; now {user.balance}.")


@bp.post("/users/<int:user_id>/verify")
@role_required(StaffRole.ADMIN)
def users_verify(user_id: int):
    return _act(user_id, accounts_admin.verify_email, "E-mail marked as verified.")


@bp.post("/users/<int:user_id>/resend-code")
@role_required(StaffRole.SUPPORT)
def users_resend(user_id: int):
    return _act(user_id, accounts_admin.resend_code, "A new registration code is on its way.")


@bp.post("/users/<int:user_id>/end-sessions")
@role_required(StaffRole.ADMIN)
def users_signout(user_id: int):
    return _act(user_id, accounts_admin.end_sessions, "Signed out everywhere: {} session(s) ended.")


@bp.post("/users/<int:user_id>/block")
@role_required(StaffRole.ADMIN)
def users_block(user_id: int):
    return _act(user_id, lambda user, staff: accounts_admin.set_blocked(user, True, staff),
                "Customer blocked; {} session(s) ended.")


@bp.post("/users/<int:user_id>/unblock")
@role_required(StaffRole.ADMIN)
def users_unblock(user_id: int):
    return _act(user_id, lambda user, staff: accounts_admin.set_blocked(user, False, staff), "Customer unblocked.")


@bp.post("/users/<int:user_id>/telegram/unlink")
@role_required(StaffRole.ADMIN)
def users_telegram_unlink(user_id: int):
    user = _user_or_404(user_id)
    if not telegram_chats.unlink(user, staff=current_user):
        return action_refused("This customer is not linked to Telegram.", 409, url_for("console.users_show", user_id=user.id))
    return _done(user, "Telegram unlinked: the bot now treats that account as a stranger.")


def _act(user_id: int, action, message: str):
    """Run one account action for the signed-in staff member, commit, and redraw the account."""
    user = _user_or_404(user_id)
    try:
        result = action(user, current_user)
    except CustomerActionError as error:
        db.session.rollback()
        return action_refused(str(error), 409, url_for("console.users_show", user_id=user.id))
    db.session.commit()
    return _done(user, message.format(result))


def _done(user: User, message: str, level: str = "success"):
    return action_result(message, DETAIL_FRAGMENT, url_for("console.users_show", user_id=user.id), level=level,
                         **_detail_context(user, AdjustBalanceForm.blank()))


def _detail(user: User, form: AdjustBalanceForm | None = None, status: int = 200, toast: str | None = None):
    response = render(DETAIL_PAGE, DETAIL_FRAGMENT, http_status=status,
                      **_detail_context(user, form or AdjustBalanceForm.blank()))
    return with_toast(response, toast, "error") if toast else response


def _detail_context(user: User, form: AdjustBalanceForm) -> dict:
    db.session.refresh(user)
    return {"account": accounts_admin.overview(user), "form": form, "telegram": telegram_admin.link_of(user)}


def _user_or_404(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)
