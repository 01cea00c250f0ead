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


def _act(server_id: int, action, message):
    """Run a lifecycle action and commit: the refreshed server page, or a 409 toast when refused.

    `message` is the toast, or a function of what the action returned.
    """
    try:
        result = action()
    except (lifecycle_admin.LifecycleActionError, InsufficientFunds) as error:
        db.session.rollback()
        refusal = ("The owner's balance does not cover the renewal." if isinstance(error, InsufficientFunds)
                   else str(error))
        return action_refused(refusal, 409, _back(server_id))
    db.session.commit()
    db.session.expire_all()
    toast = message(result) if callable(message) else message
    return action_result(toast, DETAIL, _back(server_id), **detail_context(server_or_404(server_id)))


def _back(server_id: int) -> str:
    return url_for("console.servers_show", server_id=server_id)


@bp.post("/servers/<int:server_id>/renew")
@role_required(StaffRole.ADMIN)
def servers_renew(server_id: int):
    server_or_404(server_id)
    charge = request.form.get("charge", "1") != "0"
    how = "charged to the owner" if charge else "free of charge"
    return _act(server_id, lambda: lifecycle_admin.renew_by_hand(server_id, current_user, charge=charge),
                lambda new_end: f"VM {server_id} renewed until {new_end:%Y-%m-%d %H:%M} UTC, {how}.")


@bp.post("/servers/<int:server_id>/suspend")
@role_required(StaffRole.ADMIN)
def servers_suspend(server_id: int):
    server_or_404(server_id)
    return _act(server_id, lambda: lifecycle_admin.suspend_now(server_id, current_user),
                f"VM {server_id} suspended; it is being stopped.")


@bp.post("/servers/<int:server_id>/unsuspend")
@role_required(StaffRole.ADMIN)
def servers_unsuspend(server_id: int):
    server_or_404(server_id)
    return _act(server_id, lambda: lifecycle_admin.unsuspend(server_id, current_user),
                f"VM {server_id} unsuspended; it is being started.")


@bp.post("/servers/<int:server_id>/terminate")
@role_required(StaffRole.ADMIN)
def servers_terminate(server_id: int):
    server_or_404(server_id)
    return _act(server_id, lambda: lifecycle_admin.terminate_now(server_id, current_user),
                f"VM {server_id} terminated; it is being wiped back into the pool.")


@bp.post("/servers/<int:server_id>/period-end")
@role_required(StaffRole.ADMIN)
def servers_period_end(server_id: int):
    server_or_404(server_id)
    try:
        new_end = datetime.fromisoformat(request.form.get("period_end", "").strip()).replace(tzinfo=timezone.utc)
    except ValueError:
        return action_refused("Give the new period end as a date and time.", 400, _back(server_id))
    return _act(server_id, lambda: lifecycle_admin.change_period_end(server_id, current_user, new_end),
                f"Period of VM {server_id} now ends {new_end:%Y-%m-%d %H:%M} UTC.")


@bp.post("/servers/wipes/<int:wipe_id>/retry")
@role_required(StaffRole.ADMIN)
def servers_wipe_retry(wipe_id: int):
    wipe = db.session.get(ServerWipe, wipe_id) or abort(404)
    return _act(wipe.server_id, lambda: lifecycle_admin.retry_wipe(wipe_id, current_user),
                f"Wipe {wipe_id} queued again from its failed step.")
