"""The VM itself on the server page: usage charts (server-drawn SVG)."""
from flask import request

from oxnack_admin.clients.errors import RemoteError
from oxnack_admin.services.vm import usage
from ...models.enums import StaffRole
from . import bp
from .access import role_required
from .charts import usage_charts
from .rendering import render
from .servers import server_or_404

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
