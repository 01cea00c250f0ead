"""The staff console: server-rendered pages with htmx under /console, one module per resource."""
from flask import Blueprint, current_app, render_template, request
from flask_wtf.csrf import CSRFError

from ...extensions import login_manager
from ...models.enums import StaffRole
from ...services.support import tickets
from ...simulator.systems import simulated_in
from .access import can, configure_login
from .rendering import action_refused, wants_fragment

bp = Blueprint("console", __name__, url_prefix="/console")

# The navigation, in order: (label, endpoint, least role).
NAVIGATION = (
    ("Dashboard", "console.dashboard_view", StaffRole.SUPPORT),
    ("Users", "console.users", StaffRole.SUPPORT),
    ("Servers", "console.servers", StaffRole.SUPPORT),
    ("Promocodes", "console.promocodes", StaffRole.SUPPORT),
    ("Market", "console.market", StaffRole.SUPPORT),
    ("Invoices", "console.invoices", StaffRole.SUPPORT),
    ("Proxies", "console.proxies", StaffRole.SUPPORT),
    ("Transactions", "console.transactions", StaffRole.SUPPORT),
    ("Jobs", "console.jobs", StaffRole.SUPPORT),
    ("Audit log", "console.audit", StaffRole.SUPPORT),
    ("System", "console.system", StaffRole.SUPPORT),
    ("Support", "console.support", StaffRole.SUPPORT),
    ("Newsletters", "console.newsletters_list", StaffRole.SUPPORT),
    ("API tokens", "console.tokens", StaffRole.ADMIN),
    ("Staff", "console.staff", StaffRole.OWNER),
)


@bp.record_once
def _setup(state) -> None:
    configure_login(login_manager)


@bp.context_processor
def _console_context() -> dict:
    section = _section(request.endpoint or "")
    navigation = [(label, endpoint, _section(endpoint) == section) for label, endpoint, role in NAVIGATION if can(role)]
    return {"navigation": navigation, "can": can, "Role": StaffRole,
            "simulated_systems": simulated_in(current_app.config),
            "support_unread": tickets.unread_count() if can(StaffRole.SUPPORT) else 0}


def _section(endpoint: str) -> str:
    """"console.users_show" → "users": endpoints are named <section>_<action>."""
    return endpoint.partition(".")[2].partition("_")[0]


@bp.after_request
def _no_store(response):
    # Console pages hold customer data: never cached by the browser or a proxy.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Vary", "HX-Request")
    return response


@bp.errorhandler(403)
def _forbidden(error):
    return _error_page(403, "Your role does not allow this.")


@bp.errorhandler(404)
def _not_found(error):
    return _error_page(404, "Not found.")


@bp.errorhandler(CSRFError)
def _csrf_failed(error):
    return _error_page(400, "The form expired or was not sent by the console; reload the page and try again.")


@bp.errorhandler(429)
def _too_many(error):
    return _error_page(429, "Too many attempts; wait a minute and try again.")


def _error_page(status: int, message: str):
    if wants_fragment():
        return action_refused(message, status, request.path)
    return render_template("console/error.html", status=status, message=message), status


from . import (api_tokens, audit, auth, dashboard, duplicates, invoices, jobs, market, promocodes,  # noqa: E402,F401
               proxies, server_actions, server_lifecycle, server_vm, servers, staff, system, transactions,
               two_factor, users)
from . import crypto_invoices  # noqa: E402,F401
from . import newsletters, support  # noqa: E402,F401
