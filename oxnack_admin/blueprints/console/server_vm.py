"""The VM itself on the server page: usage charts (server-drawn SVG), reinstall, the browser console."""
from flask import redirect, request, url_for
from flask_login import current_user

from oxnack_admin.clients.errors import RemoteError
from oxnack_admin.services.fleet import pool
from oxnack_admin.services.provisioning import reinstall
from oxnack_admin.services.fleet import states
from oxnack_admin.services.staff import audit
from oxnack_admin.services.vm import console, usage
from ..vm import console_url
from ...extensions import db
from ...models.enums import StaffRole
from . import bp
from .access import role_required
from .charts import usage_charts
from .rendering import action_refused, action_result, render
from .servers import detail_context, server_or_404

CONSOLE_TIMEFRAMES = ("hour", "day", "week")


@bp.get("/servers/<int:server_id>/usage")
@role_required(StaffRole.SUPPORT)
def servers_usage(server_id: int):
    server = server_or_404(server_id)
    timeframe = request.args.get("timeframe", "hour")
    if timeframe not in CONSOLE_TIMEFRAMES:
        timeframe = "hour"
    charts, error = [], None
    try:
        charts = usage_charts(usage.usage(server, timeframe), timeframe)
    except RemoteError as failure:
        error = str(failure)
    return render("console/servers/usage.html", "console/servers/_usage.html", server=server, charts=charts,
                  error=error, timeframe=timeframe, timeframes=CONSOLE_TIMEFRAMES)


@bp.post("/servers/<int:server_id>/reinstall")
@role_required(StaffRole.ADMIN)
def servers_reinstall(server_id: int):
    server = server_or_404(server_id)
    back = url_for("console.servers_show", server_id=server_id)
    owner = pool.owner_of(server)
    if owner is None:
        return action_refused(f"VM {server_id} is not rented to anyone.", 409, back)
    try:
        run = reinstall.request_reinstall(server.id, owner, request.form.get("os", ""), staff=current_user)
    except reinstall.ReinstallRefused as refused:
        db.session.rollback()
        return action_refused(f"Not reinstalled: {refused}.", refused.status, back)
    db.session.commit()
    return action_result(f"VM {server_id} is being reinstalled (run {run.id}); the owner gets the new password by mail.",
                         "console/servers/_detail.html", back, **detail_context(server))


@bp.post("/servers/<int:server_id>/console_link")
@role_required(StaffRole.SUPPORT)
def servers_console(server_id: int):
    server = server_or_404(server_id)
    back = url_for("console.servers_show", server_id=server_id)
    if states.state_of(server) != states.ACTIVE:
        return action_refused(f"VM {server_id} is {states.state_of(server)}: no console now.", 409, back)
    link = console.create_link(server)
    audit.record(current_user, "server.console_opened", "server", server.id)
    db.session.commit()
    return redirect(console_url(link.token), 303)
