"""The audit log: every staff action with who, when, before and after."""
from flask import request

from ...models.enums import StaffRole
from oxnack_admin.services.staff import audit_admin
from ...services.paging import ListParams
from . import bp
from .access import role_required
from .rendering import render


@bp.get("/audit")
@role_required(StaffRole.SUPPORT)
def audit():
    params = ListParams.from_args(request.args, audit_admin.SORTS, "when", "desc", audit_admin.FILTERS)
    return render("console/audit/page.html", "console/audit/_table.html", params=params,
                  page=audit_admin.search_events(params), changes=audit_admin.changes,
                  target_types=audit_admin.target_types())
