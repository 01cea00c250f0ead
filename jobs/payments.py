"""Payment jobs (queue `default`): the minutely poll of pending invoices, and one invoice's check."""
from oxnack_admin.services.payments import crediting, poller


def poll_invoices() -> dict:
    """Re-read every pending invoice at Platega: credit, close or expire it."""
    return poller.poll_pending_invoices()


def check_invoice(invoice_id: int) -> str:
    """Re-read one invoice (queued when a callback could not reach the gateway in time)."""
    outcome = crediting.check_invoice(invoice_id, "callback (queued)")
    if outcome.action == "unreachable":
        raise poller.PollIncomplete(outcome.detail)
    return outcome.action
