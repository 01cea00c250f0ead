"""Market services: list, create, edit, enable/disable, with both languages, both prices, an image."""
from flask import abort, current_app, request, url_for
from flask_login import current_user

from ...extensions import db
from ...models import MarketService
from ...models.enums import StaffRole
from oxnack_admin.services.market import admin as market_admin
from oxnack_admin.services.market.admin import MarketError
from ...services.paging import ListParams
from . import bp
from .access import role_required
from .forms import MarketForm
from .rendering import action_refused, action_result, form_invalid, form_page, navigate, render

UPLOAD_ENDPOINTS = {"console.market_new", "console.market_edit"}
MULTIPART_OVERHEAD = 64 * 1024  # the form's text fields beside the image


@bp.url_value_preprocessor
def _allow_image_uploads(endpoint: str | None, values: dict | None) -> None:
    # Runs before CSRFProtect parses the body, so the image's own limit replaces MAX_CONTENT_LENGTH here.
    if endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = current_app.config["MAX_IMAGE_BYTES"] + MULTIPART_OVERHEAD


@bp.get("/market")
@role_required(StaffRole.SUPPORT)
def market():
    params = ListParams.from_args(request.args, market_admin.SORTS, "id", "asc", market_admin.FILTERS)
    return render("console/market/page.html", "console/market/_table.html", params=params,
                  page=market_admin.search(params))


@bp.route("/market/new", methods=["GET", "POST"])
@role_required(StaffRole.ADMIN)
def market_new():
    form = MarketForm()
    pages = ("console/market/new.html", "console/market/_new_form.html")
    if not form.validate_on_submit():
        return form_page(*pages, form=form)
    try:
        if not form.image.data:
            raise MarketError("Choose an image; the marketplace shows one for every service.", "image")
        service = market_admin.create(form.values(), market_admin.store_image(form.image.data), current_user)
    except MarketError as error:
        db.session.rollback()
        getattr(form, error.field or "image").errors.append(str(error))
        return form_invalid(*pages, form=form)
    db.session.commit()
    return navigate(f"Service {service.name_en} created.", url_for("console.market_show", service_id=service.id))


@bp.get("/market/<int:service_id>")
@role_required(StaffRole.SUPPORT)
def market_show(service_id: int):
    service = _service_or_404(service_id)
    return render("console/market/show.html", "console/market/_detail.html", service=service,
                  form=MarketForm(formdata=None, obj=service))


@bp.post("/market/<int:service_id>/edit")
@role_required(StaffRole.ADMIN)
def market_edit(service_id: int):
    service = _service_or_404(service_id)
    form = MarketForm()
    pages = ("console/market/show.html", "console/market/_detail.html")
    if form.validate_on_submit():
        try:
            image_link = market_admin.store_image(form.image.data) if form.image.data else None
            market_admin.update(service, form.values(), image_link, current_user)
            db.session.commit()
            return action_result(f"Service {service.name_en} saved.", pages[1],
                                 url_for("console.market_show", service_id=service.id),
                                 service=service, form=MarketForm(formdata=None, obj=service))
        except MarketError as error:
            db.session.rollback()
            getattr(form, error.field or "image").errors.append(str(error))
    return form_invalid(*pages, service=service, form=form)


@bp.post("/market/<int:service_id>/enable")
@role_required(StaffRole.ADMIN)
def market_enable(service_id: int):
    return _switch(service_id, True)


@bp.post("/market/<int:service_id>/disable")
@role_required(StaffRole.ADMIN)
def market_disable(service_id: int):
    return _switch(service_id, False)


def _switch(service_id: int, enabled: bool):
    service = _service_or_404(service_id)
    back = url_for("console.market_show", service_id=service.id)
    try:
        market_admin.set_enabled(service, enabled, current_user)
    except MarketError as error:
        db.session.rollback()
        return action_refused(str(error), 409, back)
    db.session.commit()
    return action_result(f"Service {service.name_en} " + ("enabled." if enabled else "disabled."),
                         "console/market/_detail.html", back, service=service, form=MarketForm(formdata=None, obj=service))


def _service_or_404(service_id: int) -> MarketService:
    return db.session.get(MarketService, service_id) or abort(404)
