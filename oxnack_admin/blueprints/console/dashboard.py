"""The dashboard: customers, servers, upcoming expiries, money over 30 days, queue health, recent staff actions."""
from flask import current_app

from ...models.enums import StaffRole
from oxnack_admin.services.lifecycle import admin as lifecycle_admin
from oxnack_admin.services.crypto import admin as crypto_admin
from oxnack_admin.services.ops import dashboard, queues_admin
from . import bp
from .access import role_required
from .charts import money_chart
from .rendering import render


@bp.get("/")
@role_required(StaffRole.SUPPORT)
def dashboard_view():
    return render("console/dashboard/page.html", "console/dashboard/_panels.html",
                  customers=dashboard.customer_counts(), servers=dashboard.server_counts(),
                  chart=money_chart(dashboard.money_by_day(30)),
                  queues=queues_admin.queue_stats(), events=dashboard.recent_audit(10),
                  expiries=lifecycle_admin.upcoming_expiries(7), proxies=dashboard.proxy_sales(),
                  crypto=crypto_admin.watcher_status(int(current_app.config["CRYPTO_CONFIRMATIONS"])),
                  crypto_on=bool(current_app.config.get("CRYPTO_RPC_URL")))
