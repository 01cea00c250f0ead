"""Staff alerts of crypto top-ups, from one call site: the staff chat (services/support/alerts.py) and the log.

Callers alert once per cause, on the change, never on every watcher pass; the staff chat's own
repeat window (ALERT_REPEAT_MINUTES) holds on top of that. The alert rides the caller's
transaction (the caller commits).
"""
import logging

from oxnack_admin.services.support import alerts as staff_alerts

log = logging.getLogger(__name__)

CHAIN_MISMATCH = "crypto_chain_mismatch"  # the node is on another chain: crediting stopped
PAGE = ("console.crypto_invoices_list", {})  # where staff see the watcher's state


def alert_staff(cause: str, message: str) -> None:
    """Tell staff that `cause` needs them now (the message is safe to show: no URL, no key)."""
    log.error("CRYPTO ALERT (%s): %s", cause, message)
    staff_alerts.alert(cause, message, PAGE)
