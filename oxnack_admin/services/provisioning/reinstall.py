"""Reinstalling a customer's VM: the wipe's stop, destroy and clone, then the order's own steps.

A reinstall is a provisioning run of kind "reinstall" (runs.py carries it out step by step and
resumes it after a crash or a retry). It keeps what the order bought: cores, RAM, disk size, the
MAC, addresses and pfSense objects, the rental period and the price. The owner gets a new root
password by mail as at order time; a failure flags the server for staff and tells the owner.
"""
from decimal import Decimal

from flask import current_app

from oxnack_admin.models import ProvisioningRun, User
from oxnack_admin.models.enums import RunKind
from oxnack_admin.services.fleet import states, vm_locks
from oxnack_admin.services.fleet.states import Actor, Event
from oxnack_admin.services.lifecycle import history, renewal
from oxnack_admin.services.provisioning import runs
from oxnack_admin.services.staff import audit

BUSY = "server busy"


class ReinstallRefused(Exception):
    """The reinstall cannot start: `status` and `message` as the customer is told."""

    def __init__(self, status: int, message: str, why: str | None = None):
        super().__init__(why or message)
        self.status, self.message = status, message


def request_reinstall(server_id: int, owner: User, os_name: str, *, staff=None) -> ProvisioningRun:
    """Move the owner's server to reinstalling and queue the run once the caller commits.

    Refused (409 "server busy") while a provisioning, power action, wipe or reinstall of it runs:
    the state says the first three of those, the per-VM lock a power action. The lock is taken here
    for the run (its purpose is the run's), so a click on "restart" now gets 409 at once.
    """
    if not isinstance(os_name, str) or os_name not in current_app.config["OS_TEMPLATES"]:
        raise ReinstallRefused(400, "bad os")
    server = renewal.lock_server(server_id)
    if not renewal.owned_by(server, owner):
        raise ReinstallRefused(404, "not found")
    actor = Actor.STAFF if staff is not None else Actor.CUSTOMER
    try:
        states.check(server, Event.REINSTALL, actor)
    except states.TransitionRefused as refused:
        status, message = refused.customer_reason
        raise ReinstallRefused(403 if status == 403 else 409, message if status == 403 else BUSY,
                               str(refused)) from None
    if vm_locks.holder(server.id):
        raise ReinstallRefused(409, BUSY, f"VM {server.id} is busy ({vm_locks.holder(server.id)})")
    states.move(server, Event.REINSTALL, actor)
    config = current_app.config
    run = runs.open_run(server, owner, cores=server.cores or config["MIN_CORE"], ram=server.ram or config["MIN_RAM"],
                        hdd=server.hdd or config["MIN_HDD"], os=os_name, price=Decimal(0), promo=None,
                        order_transaction_id=None, kind=RunKind.REINSTALL)
    token = vm_locks.acquire(server.id, f"provision:{run.id}")  # the run's job takes it over (same purpose)
    if token is None:
        raise ReinstallRefused(409, BUSY, f"VM {server.id} was locked just now")
    history.record(server, "reinstall.requested", staff=staff, os=os_name, run_id=run.id)
    if staff is not None:
        audit.record(staff, "server.reinstall", "server", server.id, after={"os": os_name, "run_id": run.id})
    runs.schedule(run)
    return run

