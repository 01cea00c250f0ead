"""Servers: the pool and sold VMs, adding pool VMs (one or a VMID range), editing the record."""
from flask import abort, current_app, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from ...extensions import db
from ...models import Server
from ...models.enums import StaffRole
from oxnack_admin.services.fleet import pool
from oxnack_admin.services.lifecycle import admin as lifecycle_admin
from ...services.paging import ListParams
from oxnack_admin.services.fleet.pool import PoolError, PoolVm
from . import bp
from .access import role_required
from .forms import PoolRangeForm, PoolVmForm, ServerEditForm
from .rendering import action_result, form_invalid, form_page, navigate, render


def _choices(form: FlaskForm) -> FlaskForm:
    form.os.choices = pool.os_choices()
    form.country.choices = [("", "Default")] + [(c, c) for c in current_app.config["COUNTRIES"]]
    return form


@bp.get("/servers")
@role_required(StaffRole.SUPPORT)
def servers():
    params = ListParams.from_args(request.args, pool.SORTS, "id", "asc", pool.FILTERS)
    return render("console/servers/page.html", "console/servers/_table.html", params=params,
                  page=pool.search(params), os_options=[(o, o) for o in pool.os_choices()])


@bp.route("/servers/new", methods=["GET", "POST"])
@role_required(StaffRole.ADMIN)
def servers_new():
    form = _choices(PoolVmForm())
    pages = ("console/servers/new.html", "console/servers/_new_form.html")
    if not form.validate_on_submit():
        return form_page(*pages, form=form)
    try:
        vm = PoolVm(form.vmid.data, form.os.data, pool.parse_ips(form.ips.data), _blank(form.lan_ip.data),
                    _blank(form.node.data), _blank(form.country.data), _blank(form.mac.data))
        server = pool.add_vm(vm, current_user)
    except PoolError as error:
        return _field_error(form, error, pages)
    db.session.commit()
    return navigate(f"VM {server.id} added to the pool.", url_for("console.servers_show", server_id=server.id))


@bp.route("/servers/bulk", methods=["GET", "POST"])
@role_required(StaffRole.ADMIN)
def servers_bulk():
    form = _choices(PoolRangeForm())
    pages = ("console/servers/bulk.html", "console/servers/_bulk_form.html")
    if not form.validate_on_submit():
        return form_page(*pages, form=form)
    try:
        added = pool.add_range(form.first_vmid.data, form.last_vmid.data, form.os.data, form.first_ip.data,
                               _blank(form.first_lan_ip.data), _blank(form.node.data), _blank(form.country.data),
                               current_user)
    except PoolError as error:
        return _field_error(form, error, pages)
    db.session.commit()
    return navigate(f"{len(added)} VMs added to the pool ({added[0].id}–{added[-1].id}).",
                    url_for("console.servers", state="pool"))


@bp.get("/servers/<int:server_id>")
@role_required(StaffRole.SUPPORT)
def servers_show(server_id: int):
    server = server_or_404(server_id)
    return render("console/servers/show.html", "console/servers/_detail.html", **detail_context(server))


@bp.post("/servers/<int:server_id>/edit")
@role_required(StaffRole.ADMIN)
def servers_edit(server_id: int):
    server = server_or_404(server_id)
    form = _choices(ServerEditForm())
    pages = ("console/servers/show.html", "console/servers/_detail.html")
    if form.validate_on_submit():
        try:
            changes = {"os": form.os.data, "ips": pool.parse_ips(form.ips.data), "lan_ip": _blank(form.lan_ip.data),
                       "mac": _blank(form.mac.data), "node": _blank(form.node.data),
                       "country": _blank(form.country.data), "name": _blank(form.name.data),
                       "attention": _blank(form.attention.data)}
            pool.edit(server, changes, current_user)
            db.session.commit()
            return action_result(f"VM {server.id} saved.", pages[1], url_for("console.servers_show", server_id=server.id),
                                 **detail_context(server))
        except PoolError as error:
            db.session.rollback()
            getattr(form, error.field or "ips").errors.append(str(error))
    return form_invalid(*pages, **detail_context(server, form))


def detail_context(server: Server, form: ServerEditForm | None = None) -> dict:
    """What the server page shows: the record, owner, provisioning runs, and the edit form."""
    if form is None:
        form = _choices(ServerEditForm(formdata=None, obj=server))
        form.ips.data = ", ".join(ip for ip in server.ips or [] if ip)  # legacy arrays may hold NULLs
    return {"server": server, "owner": pool.owner_of(server), "form": form,
            "runs": [pool.run_view(run) for run in pool.runs_of(server)],
            "lifecycle": lifecycle_admin.lifecycle_view(server)}


def server_or_404(server_id: int) -> Server:
    return db.session.get(Server, server_id) or abort(404)


def _field_error(form: FlaskForm, error: PoolError, pages: tuple[str, str]):
    db.session.rollback()
    field = getattr(form, error.field, None) if error.field else None
    (field.errors if field is not None else form.form_errors).append(str(error))
    return form_invalid(*pages, form=form)


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value else None
