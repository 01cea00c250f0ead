"""Actions on one server: release to the pool, power, and its provisioning record (live, retry)."""
from flask import abort, request, url_for
from flask_login import current_user

from ...extensions import db
from ...models import ProvisioningRun
from ...models.enums import StaffRole
from oxnack_admin.services.staff import audit
from oxnack_admin.services.fleet import pool
from oxnack_admin.services.provisioning import runs as provisioning_runs
from oxnack_admin.services.money.ledger import InsufficientFunds
from oxnack_admin.services.fleet.power import ACTIONS, PowerActionError, request_power_action
from oxnack_admin.services.lifecycle.admin import ReleaseRefused, release_server
from . import bp
from .access import role_required
from .rendering import action_refused, action_result, render
from .servers import detail_context, server_or_404

DETAIL = "console/servers/_detail.html"


@bp.post("/servers/<int:server_id>/release")
@role_required(StaffRole.ADMIN)
def servers_release(server_id: int):
    server = server_or_404(server_id)
    back = url_for("console.servers_show", server_id=server_id)
    try:
        release_server(server.id, current_user)
    except ReleaseRefused as error:
        db.session.rollback()
        return action_refused(f"Not released: {error}", 409, back)
    db.session.commit()
    return action_result(f"VM {server_id} is taken from its owner and being wiped; it returns to the pool when done.",
                         DETAIL, back, **detail_context(server))


@bp.post("/servers/<int:server_id>/power")
@role_required(StaffRole.SUPPORT)
def servers_power(server_id: int):
    server = server_or_404(server_id)
    action = request.form.get("action", "")
    back = url_for("console.servers_show", server_id=server_id)
    if action not in ACTIONS:
        return action_refused(f"Unknown power action {action!r}.", 400, back)
    try:
        requested = request_power_action(server, action, requested_by=f"staff:{current_user.email}")
    except PowerActionError as error:
        return action_refused(error.message.capitalize() + ".", error.status, back)
    if requested.job_id is None:
        return action_result(f"VM {server_id}: {requested.message}.", None, back, level="info")
    audit.record(current_user, f"server.power.{action}", "server", server.id, after={"job_id": requested.job_id})
    db.session.commit()
    return action_result(f"{action.capitalize()} of VM {server_id} is queued.", None, back)


@bp.get("/servers/runs/<int:run_id>")
@role_required(StaffRole.SUPPORT)
def servers_run(run_id: int):
    run = _run_or_404(run_id)
    return render("console/servers/run.html", "console/servers/_run.html", view=pool.run_view(run))


@bp.post("/servers/runs/<int:run_id>/retry")
@role_required(StaffRole.ADMIN)
def servers_retry(run_id: int):
    run = _run_or_404(run_id)
    back = url_for("console.servers_show", server_id=run.server_id)
    try:
        provisioning_runs.retry_run(run.id, current_user)
    except (provisioning_runs.RetryRefused, InsufficientFunds) as error:
        db.session.rollback()
        message = ("The customer's balance no longer covers this server; top it up first."
                   if isinstance(error, InsufficientFunds) else str(error).capitalize() + ".")
        return action_refused(message, 409, back)
    db.session.commit()
    return action_result(f"Provisioning run {run_id} queued again from its failed step.", "console/servers/_run.html",
                         back, view=pool.run_view(_run_or_404(run_id)))


def _run_or_404(run_id: int) -> ProvisioningRun:
    return db.session.get(ProvisioningRun, run_id) or abort(404)
