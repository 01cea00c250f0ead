"""Crypto invoices on the Invoices page: address, expected and received amounts, transfers, check now."""
from flask import current_app, url_for

from ...models.enums import StaffRole
from oxnack_admin.services.crypto import admin as crypto_admin
from oxnack_admin.services.crypto import invoices as crypto_invoices
from oxnack_admin.services.crypto import watcher
from oxnack_admin.simulator.systems import simulated_in
from . import bp
from .access import role_required
from .rendering import action_result, render

FRAGMENT = "console/invoices/_crypto.html"
MESSAGES = {"done": "Checked the chain: {} new transfer(s), {} credited.", "busy": "A check is running already.",
            "off": "Crypto top-ups are off (CRYPTO_RPC_URL is empty).", "failed": "The node could not be used: {}"}


@bp.get("/invoices/crypto")
@role_required(StaffRole.SUPPORT)
def crypto_invoices_list():
    return render("console/invoices/crypto_page.html", FRAGMENT, **crypto_context())


@bp.post("/invoices/crypto/check")
@role_required(StaffRole.SUPPORT)
def crypto_invoices_check():
    result = watcher.run_pass()
    detail = (result.recorded, len(result.credited)) if result.outcome == "done" else (result.detail,)
    level = "error" if result.outcome == "failed" else "success"
    return action_result(MESSAGES[result.outcome].format(*detail), FRAGMENT, url_for("console.invoices"),
                         level=level, **crypto_context())


def crypto_context() -> dict:
    """What the crypto section shows (the view computes it; the template only shows it)."""
    status = crypto_admin.watcher_status(int(current_app.config["CRYPTO_CONFIRMATIONS"]))
    chain_page = next((current_app.config.get("CRYPTO_RPC_URL") for system in simulated_in(current_app.config)
                       if system.key == "bsc"), None)
    return {"crypto_rows": crypto_admin.latest(), "crypto_status": status, "decimal_text": crypto_invoices.decimal_text,
            "confirmations_of": crypto_admin.confirmations_of, "state_of": crypto_invoices.state_of,
            "chain_page": chain_page, "crypto_on": bool(current_app.config.get("CRYPTO_RPC_URL"))}
