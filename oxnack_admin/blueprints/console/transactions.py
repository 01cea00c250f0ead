"""The ledger: every money movement, filtered, and exported as CSV."""
from datetime import datetime, timezone

from flask import Response, request, stream_with_context

from ...models.enums import StaffRole
from oxnack_admin.services.money import ledger_report
from ...services.paging import ListParams
from . import bp
from .access import role_required
from .rendering import render


def _params() -> ListParams:
    return ListParams.from_args(request.args, ledger_report.SORTS, "when", "desc", ledger_report.FILTERS)


@bp.get("/transactions")
@role_required(StaffRole.SUPPORT)
def transactions():
    params = _params()
    return render("console/transactions/page.html", "console/transactions/_table.html", params=params,
                  page=ledger_report.search(params), types=ledger_report.TYPES, statuses=ledger_report.STATUSES)


@bp.get("/transactions.csv")
@role_required(StaffRole.SUPPORT)
def transactions_csv():
    filename = f"oxnack-ledger-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}.csv"
    return Response(stream_with_context(ledger_report.csv_lines(_params())), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
