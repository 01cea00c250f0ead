"""Proxies: the inventory, orders with their refund state, sync now with live progress, cleanup, stats."""
from flask import abort, request, url_for
from flask_login import current_user

from ...extensions import db
from ...models import ProxyOrder, ProxySyncRun, User
from ...models.enums import ProxyOrderState, StaffRole
from ...services.paging import ListParams
from oxnack_admin.services.proxies import admin as proxies_admin, sync
from . import bp
from .access import role_required
from .forms import SyncForm
from .rendering import action_refused, action_result, form_invalid, render, wants_fragment


@bp.get("/proxies")
@role_required(StaffRole.SUPPORT)
def proxies():
    params = _inventory_params()
    # A filter, sort or page swap redraws the table only: no stats, countries or runs to read for it.
    context = ({"params": params, "page": proxies_admin.search_inventory(params)} if wants_fragment()
               else _page_context(params))
    return render("console/proxies/page.html", "console/proxies/_inventory.html", **context)


@bp.get("/proxies/orders")
@role_required(StaffRole.SUPPORT)
def proxies_orders():
    params = ListParams.from_args(request.args, proxies_admin.ORDER_SORTS, "id", "desc", proxies_admin.ORDER_FILTERS)
    return render("console/proxies/orders.html", "console/proxies/_orders.html", params=params,
                  page=proxies_admin.search_orders(params),
                  state_options=[("", "All states")] + [(state.value, state.value) for state in ProxyOrderState])


@bp.post("/proxies/sync")
@role_required(StaffRole.ADMIN)
def proxies_sync():
    form = SyncForm()
    if not form.validate_on_submit():
        return form_invalid("console/proxies/page.html", "console/proxies/_sync_panel.html",
                            **_page_context(_inventory_params(), form=form))
    try:
        run = proxies_admin.start_sync(current_user, form.country_code.data, form.page_size.data)
    except sync.SyncBusy as error:
        return action_refused(str(error), 409, url_for("console.proxies"))
    return action_result(f"Sync {run.id} started.", "console/proxies/_sync_panel.html", url_for("console.proxies"),
                         **_sync_context())


@bp.get("/proxies/sync/<int:sync_run_id>")
@role_required(StaffRole.SUPPORT)
def proxies_sync_run(sync_run_id: int):
    run = db.session.get(ProxySyncRun, sync_run_id) or abort(404)
    return render("console/proxies/sync_run.html", "console/proxies/_sync_progress.html", run=run)


@bp.post("/proxies/cleanup")
@role_required(StaffRole.ADMIN)
def proxies_cleanup():
    removed = proxies_admin.cleanup(current_user)
    db.session.commit()
    return action_result(f"Removed {removed} proxies that were off sale.", "console/proxies/_stats.html",
                         url_for("console.proxies"), stats=proxies_admin.stats(),
                         order_counts=proxies_admin.counts_by_state())


@bp.post("/proxies/orders/<int:order_id>/resolve")
@role_required(StaffRole.ADMIN)
def proxies_orders_resolve(order_id: int):
    outcome = request.form.get("outcome", "")
    back = url_for("console.proxies_orders", state="flagged")
    try:
        order = proxies_admin.resolve_flagged(order_id, outcome, current_user)  # loads it under its lock
    except LookupError:
        abort(404)
    except proxies_admin.ProxyAdminError as error:
        db.session.rollback()
        return action_refused(str(error), 409, back)
    db.session.commit()
    return action_result(f"Order {order.id} is {order.state}.", "console/proxies/_order_row.html", back,
                         order=order, mail=order_mail(order))


def order_mail(order: ProxyOrder) -> str | None:
    user = db.session.get(User, order.user_id)
    return user.mail if user else None


def _inventory_params() -> ListParams:
    return ListParams.from_args(request.args, proxies_admin.INVENTORY_SORTS, "id", "asc", proxies_admin.INVENTORY_FILTERS)


def _page_context(params: ListParams, form: SyncForm | None = None) -> dict:
    return {"params": params, "page": proxies_admin.search_inventory(params),
            "country_options": [("", "All countries")] + [(code, code) for code in proxies_admin.country_codes()],
            "stats": proxies_admin.stats(), "order_counts": proxies_admin.counts_by_state(), **_sync_context(form)}


def _sync_context(form: SyncForm | None = None) -> dict:
    """What the sync panel shows: the form, the last runs and the one running."""
    runs = proxies_admin.recent_runs(10)
    return {"runs": runs, "run": next((run for run in runs if not run.is_final), None),
            "form": form or SyncForm(formdata=None)}
