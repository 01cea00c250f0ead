"""The System page: what is down and since when, the queues, the periodic jobs, recent failures (htmx refresh)."""
from ...models.enums import StaffRole
from oxnack_admin.services.ops import system as system_service
from . import bp
from .access import role_required
from .rendering import render


@bp.get("/system")
@role_required(StaffRole.SUPPORT)
def system():
    return render("console/system/page.html", "console/system/_panels.html", **system_service.overview())
