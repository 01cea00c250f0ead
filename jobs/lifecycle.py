"""Lifecycle jobs: the hourly billing cycle and what it hands on (power changes, wipes, resumes)."""
from oxnack_admin.services.lifecycle import cycle, renewal, suspension, termination

from . import is_last_attempt, rq_attempt


def billing_cycle() -> None:
    """One pass of the billing cycle (queue `default`, hourly from the scheduler)."""
    cycle.run_cycle()


def enforce_power(server_id: int, action: str) -> None:
    """Stop a suspended VM or start a renewed one (skipped if the server moved on meanwhile)."""
    with rq_attempt():
        suspension.enforce_power(server_id, action)


def wipe_server(wipe_id: int) -> None:
    """Carry a wipe on from its first step not done (queue `provisioning`)."""
    with rq_attempt():
        termination.carry_out(wipe_id, last_attempt=is_last_attempt())


def resume_suspended(user_id: int) -> None:
    """After a credit: renew and restart the user's suspended servers the balance now covers."""
    renewal.resume_suspended_after_credit(user_id)
