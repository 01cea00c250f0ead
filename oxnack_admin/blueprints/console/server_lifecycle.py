"""A server's rental by hand: renew (charged or free), suspend, unsuspend, terminate, period end, wipe retry."""
from datetime import datetime, timezone

from flask import abort, request, url_for
from flask_login import current_user

from ...extensions import db
from ...models import ServerWipe
from ...models.enums import StaffRole
from oxnack_admin.services.lifecycle import admin as lifecycle_admin
from oxnack_admin.services.money.ledger import InsufficientFunds
from . import bp
from .access import role_required
from .rendering import action_refused, action_result
from .servers import detail_context, server_or_404

DETAIL = "console/servers/_detail.html"


def _done(server_id: int, message: str):
    db.session.commit()
    db.session.expire_all()
    return action_result(message, DETAIL, _back(server_id), **detail_context(server_or_404(server_id)))


def _refused(server_id: int, error: Exception):
    db.session.rollback()
    message = ("The owner's balance does not cover the renewal." if isinstance(error, InsufficientFunds)
               else str(error))
    return action_refused(message, 409, _back(server_id))


def _back(server_id: int) -> str:
    return url_for("console.servers_show", server_id=server_id)


@bp.post("/servers/<int:server_id>/renew")
@role_required(StaffRole.ADMIN)
def servers_renew(server_id: int):
    server_or_404(server_id)
    charge = request.form.get("charge", "1") != "0"
    try:
        new_end = lifecycle_admin.renew_by_hand(server_id, current_user, charge=charge)
    except (lifecycle_admin.LifecycleActionError, InsufficientFunds) as error:
        return _refused(server_id, error)
    how = "charged to the owner" if charge else "free of charge"
    return _done(server_id, f"VM {server_id} renewed until {new_end:%Y-%m-%d %H:%M} UTC, {how}.")


@bp.post("/servers/<int:server_id>/suspend")
@role_required(StaffRole.ADMIN)
def servers_suspend(server_id: int):
    server_or_404(server_id)
    try:
        lifecycle_admin.suspend_now(server_id, current_user)
    except lifecycle_admin.LifecycleActionError as error:
        return _refused(server_id, error)
    return _done(server_id, f"VM {server_id} suspended; it is being stopped.")


@bp.post("/servers/<int:server_id>/unsuspend")
@role_required(StaffRole.ADMIN)
def servers_unsuspend(server_id: int):
    server_or_404(server_id)
    try:
        lifecycle_admin.unsuspend(server_id, current_user)
    except lifecycle_admin.LifecycleActionError as error:
        return _refused(server_id, error)
    return _done(server_id, f"VM {server_id} unsuspended; it is being started.")


@bp.post("/servers/<int:server_id>/terminate")
@role_required(StaffRole.ADMIN)
def servers_terminate(server_id: int):
    server_or_404(server_id)
    try:
        lifecycle_admin.terminate_now(server_id, current_user)
    except lifecycle_admin.LifecycleActionError as error:
        return _refused(server_id, error)
    return _done(server_id, f"VM {server_id} terminated; it is being wiped back into the pool.")


@bp.post("/servers/<int:server_id>/period-end")
@role_required(StaffRole.ADMIN)
def servers_period_end(server_id: int):
    server_or_404(server_id)
    try:
        new_end = datetime.fromisoformat(request.form.get("period_end", "").strip()).replace(tzinfo=timezone.utc)
    except ValueError:
        return action_refused("Give the new period end as a date and time.", 400, _back(server_id))
    try:
        lifecycle_admin.change_period_end(server_id, current_user, new_end)
    except lifecycle_admin.LifecycleActionError as error:
        return _refused(server_id, error)
    return _done(server_id, f"Period of VM {server_id} now ends {new_end:%Y-%m-%d %H:%M} UTC.")


@bp.post("/servers/wipes/<int:wipe_id>/retry")
@role_required(StaffRole.ADMIN)
def servers_wipe_retry(wipe_id: int):
    wipe = db.session.get(ServerWipe, wipe_id) or abort(404)
    server_id = wipe.server_id
    try:
        lifecycle_admin.retry_wipe(wipe_id, current_user)
    except lifecycle_admin.LifecycleActionError as error:
        return _refused(server_id, error)
    return _done(server_id, f"Wipe {wipe_id} queued again from its failed step.")
