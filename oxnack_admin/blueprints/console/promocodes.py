"""Promocodes: list, create, edit, enable/disable, and their uses."""
from datetime import timezone

from flask import abort, request, url_for
from flask_login import current_user

from ...extensions import db
from ...models import Promocode
from ...models.enums import StaffRole
from oxnack_admin.services.money import promocodes_admin
from ...services.paging import ListParams
from oxnack_admin.services.money.promocodes_admin import PromocodeError
from . import bp
from .access import role_required
from .forms import NewPromocodeForm, PromocodeForm
from .rendering import action_refused, action_result, form_invalid, form_page, navigate, render


@bp.get("/promocodes")
@role_required(StaffRole.SUPPORT)
def promocodes():
    params = ListParams.from_args(request.args, promocodes_admin.SORTS, "created", "desc", promocodes_admin.FILTERS)
    return render("console/promocodes/page.html", "console/promocodes/_table.html", params=params,
                  page=promocodes_admin.search(params), status=promocodes_admin.status)


@bp.route("/promocodes/new", methods=["GET", "POST"])
@role_required(StaffRole.ADMIN)
def promocodes_new():
    form = NewPromocodeForm()
    pages = ("console/promocodes/new.html", "console/promocodes/_new_form.html")
    if not form.validate_on_submit():
        return form_page(*pages, form=form)
    try:
        promo = promocodes_admin.create(form.promo.data, form.values(), current_user)
    except PromocodeError as error:
        db.session.rollback()
        form.promo.errors.append(str(error))
        return form_invalid(*pages, form=form)
    db.session.commit()
    return navigate(f"Promocode {promo.promo} created.", url_for("console.promocodes_show", promo=promo.promo))


# <path:>: a legacy code may contain "/" (any character the old table took).
@bp.get("/promocodes/<path:promo>")
@role_required(StaffRole.SUPPORT)
def promocodes_show(promo: str):
    code = _promo_or_404(promo)
    return render("console/promocodes/show.html", "console/promocodes/_detail.html", **_detail(code))


@bp.post("/promocodes/<path:promo>/edit")
@role_required(StaffRole.ADMIN)
def promocodes_edit(promo: str):
    code = _promo_or_404(promo)
    form = PromocodeForm()
    if not form.validate_on_submit():
        return form_invalid("console/promocodes/show.html", "console/promocodes/_detail.html", **_detail(code, form))
    promocodes_admin.update(code, form.values(), current_user)
    db.session.commit()
    return action_result(f"Promocode {code.promo} saved.", "console/promocodes/_detail.html",
                         url_for("console.promocodes_show", promo=code.promo), **_detail(code))


@bp.post("/promocodes/<path:promo>/enable")
@role_required(StaffRole.ADMIN)
def promocodes_enable(promo: str):
    return _switch(promo, True)


@bp.post("/promocodes/<path:promo>/disable")
@role_required(StaffRole.ADMIN)
def promocodes_disable(promo: str):
    return _switch(promo, False)


def _switch(promo: str, enabled: bool):
    code = _promo_or_404(promo)
    back = url_for("console.promocodes_show", promo=code.promo)
    try:
        promocodes_admin.set_enabled(code, enabled, current_user)
    except PromocodeError as error:
        db.session.rollback()
        return action_refused(str(error), 409, back)
    db.session.commit()
    return action_result(f"Promocode {code.promo} " + ("enabled." if enabled else "disabled."),
                         "console/promocodes/_detail.html", back, **_detail(code))


def _detail(code: Promocode, form: PromocodeForm | None = None) -> dict:
    if form is None:
        form = PromocodeForm(formdata=None, obj=code)
        form.expires_at.data = code.expires_at.astimezone(timezone.utc).replace(tzinfo=None) if code.expires_at else None
    return {"code": code, "form": form, "uses": promocodes_admin.uses_of(code),
            "status": promocodes_admin.status(code)}


def _promo_or_404(promo: str) -> Promocode:
    return db.session.get(Promocode, promo) or abort(404)
