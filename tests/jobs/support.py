"""Helpers of the job tests: orders through the real ordering service, ledger checks, waiting."""
import time
from decimal import Decimal

from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import ProvisioningRun, Transaction, User
from oxnack_admin.services.orders import placement
from oxnack_admin.services.money.pricing import Shape


def place(user: User, cores: int = 2, ram: int = 2, hdd: int = 20, os_name: str = "ubuntu") -> placement.PlacedOrder:
    """An order through the same service the /create_machine endpoint uses."""
    return placement.place_order(user, placement.Order(Shape(cores, ram, hdd), os_name))


def ledger_sum(user_id: int) -> Decimal:
    return db.session.scalar(select(func.coalesce(func.sum(Transaction.amount), 0))
                             .where(Transaction.user_id == user_id))


def assert_ledger_consistent(user_id: int) -> None:
    """The balance is exactly what the ledger rows add up to (every user starts at 0)."""
    db.session.expire_all()
    assert db.session.get(User, user_id).balance == ledger_sum(user_id)


def reload_run(run_id: int) -> ProvisioningRun:
    db.session.expire_all()
    return db.session.get(ProvisioningRun, run_id)


def steps_of(run: ProvisioningRun) -> dict:
    """{step name: (state, attempts)}"""
    return {step.name: (step.state, step.attempts) for step in run.steps}


def wait_until(condition, timeout: float = 30, what: str = "condition") -> None:
    """Poll `condition` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
