"""Staff alerts of crypto top-ups, from one call site: route `alert_staff` to the staff chat when that lands.

Today an alert is an ERROR log line starting `CRYPTO ALERT` (and the console shows the state
that caused it). Callers alert once per cause, on the change, never on every watcher pass.
"""
import logging

log = logging.getLogger(__name__)

CHAIN_MISMATCH = "crypto_chain_mismatch"  # the node is on another chain: crediting stopped


def alert_staff(cause: str, message: str) -> None:
    """Tell staff that `cause` needs them now (the message is safe to show: no URL, no key)."""
    log.error("CRYPTO ALERT (%s): %s", cause, message)
