"""The poller: Platega gives up on callbacks after three tries, so every pending invoice is re-read."""
import logging

from oxnack_admin.extensions import db
from oxnack_admin.services.payments import crediting, invoices

log = logging.getLogger(__name__)
GIVE_UP_AFTER = 3  # gateway failures in a row that end a run early


class PollIncomplete(Exception):
    """Some invoices could not be checked (the gateway is down); they stay pending for the next run."""

    retryable = True


def poll_pending_invoices() -> dict[str, int]:
    """Check each pending invoice once (each in its own transaction); counts of what happened.

    Raises PollIncomplete after the whole batch if the gateway failed for any, so RQ shows the run failed.
    """
    invoices.adopt_ledger_rows()
    ids = invoices.pending_invoice_ids()  # ids only: each check loads its invoice itself
    db.session.rollback()
    counts: dict[str, int] = {}
    failures_in_a_row = 0
    for invoice_id in ids:
        outcome = crediting.check_invoice(invoice_id, "poller")
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
        failures_in_a_row = failures_in_a_row + 1 if outcome.action == "unreachable" else 0
        if failures_in_a_row >= GIVE_UP_AFTER:
            # The gateway is down: waiting out a timeout per invoice would only overrun the job.
            break
    if counts:
        log.info("invoice poll: %s", ", ".join(f"{n} {action}" for action, n in sorted(counts.items())))
    if counts.get("unreachable"):
        raise PollIncomplete(f"{counts['unreachable']} of {len(ids)} pending invoices could not be checked")
    return counts
