"""The world of tests/lifecycle/test_interleavings.py: three customers, a pool of three VMs, a staff
member, fresh Proxmox and pfSense simulators and a clock of its own, rebuilt for every example.

Each action is one thing a customer, staff, a job or the clock does, through the same service the
route, the console or the job calls. A refusal (the service's "refused" exception) is an outcome
like any other; anything else raises. The invariants are in interleaving_checks.py.
"""
import logging
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import time_machine
from flask import Flask
from sqlalchemy import select

from jobs.worker import AppSimpleWorker, run_worker
from oxnack_admin.clients import platega
from oxnack_admin.extensions import db
from oxnack_admin.models import ProvisioningRun, Server, ServerWipe, Staff, User
from oxnack_admin.models.enums import LifecycleState, StaffRole
from oxnack_admin.services.accounts.passwords import hash_password
from oxnack_admin.services.fleet import power
from oxnack_admin.services.lifecycle.admin import ReleaseRefused, release_server
from oxnack_admin.services.fleet.vm_locks import VmBusy
from oxnack_admin.services.lifecycle import admin as lifecycle_admin, clock, cycle, renewal, termination
from oxnack_admin.services.money.ledger import InsufficientFunds
from oxnack_admin.services.money.pricing import Shape
from oxnack_admin.services.ops import queueing
from oxnack_admin.services.orders import placement
from oxnack_admin.services.payments import crediting
from oxnack_admin.services.provisioning import runs as provisioning_runs
from oxnack_admin.simulator.pfsense import PfSenseSimulator
from oxnack_admin.simulator.proxmox import ProxmoxSimulator
from tests.lifecycle.conftest import TEMPLATE_FILES
from tests.lifecycle.interleaving_checks import IN_FLIGHT, Checks
from tests.support.database import empty_everything
from tests.support.factories import DEFAULT_PASSWORD, make_invoice, make_server, make_user

VMIDS = (301, 302, 303)
CUSTOMERS = ("ann@example.com", "bob@example.com", "cat@example.com")
SHAPES = {"small": Shape(1, 1, 15), "large": Shape(2, 2, 20)}  # 170 and 240 at the test prices
START = datetime(2031, 3, 3, 12, tzinfo=timezone.utc)  # the clock of every example starts here
# What a service answers when the action does not apply now: a fine outcome, never a failure.
REFUSALS = (placement.OrderError, InsufficientFunds, renewal.RenewalRefused, power.PowerActionError,
            lifecycle_admin.LifecycleActionError, ReleaseRefused, VmBusy)

_password_hash: list[str] = []  # argon2 of DEFAULT_PASSWORD, made once: ~50 ms a user adds up over examples


def password_hash() -> str:
    if not _password_hash:
        _password_hash.append(hash_password(DEFAULT_PASSWORD))
    return _password_hash[0]


class ErrorLog(logging.Handler):
    """Keeps the errors the app logs: the billing cycle and a credit's follow-up swallow exceptions."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}"
                            + (f" ({record.exc_info[1]!r})" if record.exc_info else ""))


class InProcessWorker(AppSimpleWorker):
    """The debugging worker without its command channel: closing that costs ~0.2 s a burst."""

    def subscribe(self):
        pass


class World:
    """One example: built empty, acted on step by step, checked after every step, closed."""

    def __init__(self, app: Flask, set_config, balances: tuple[int, ...]):
        self.app = app
        db.session.remove()
        empty_everything()
        self.proxmox = ProxmoxSimulator(task_polls_before_done=1).start()
        self.pfsense = PfSenseSimulator().start()
        set_config(PROXMOX_URL=self.proxmox.url, PROXMOX_NODE=self.proxmox.node, PROXMOX_USER=self.proxmox.user,
                   PROXMOX_TOKEN=self.proxmox.token, PROXMOX_PASSWORD="", PROXMOX_VERIFY_TLS=False,
                   PFSENSE_URL=self.pfsense.url, PFSENSE_API_KEY=self.pfsense.api_key, PFSENSE_VERIFY_TLS=False)
        self.travel = time_machine.travel(START, tick=True)
        self.time = self.travel.start()
        self.errors = ErrorLog()
        logging.getLogger("oxnack_admin").addHandler(self.errors)
        for template in app.config["OS_TEMPLATES"].values():
            self.proxmox.add_template(int(template["template_vmid"]), files=TEMPLATE_FILES,
                                      disk_gb=app.config["MIN_HDD"])
        for vmid in VMIDS:
            make_server(vmid, "ubuntu", ips=[f"198.51.100.{vmid % 250}"], lan_ip=f"192.168.2.{vmid % 250}")
            self.proxmox.add_vm(vmid, name=f"pool-{vmid}", disk_gb=app.config["MIN_HDD"])
        self.user_ids = [make_user(mail, balance=balance, passwd_hash=password_hash()).id
                         for mail, balance in zip(CUSTOMERS, balances, strict=True)]
        staff = Staff(email="admin@oxnack.test", role=StaffRole.ADMIN, password_hash=password_hash())
        db.session.add(staff)
        db.session.commit()
        self.staff_id = staff.id
        self.vmids = VMIDS
        self.clock_moves = 0  # a double click is two renewals of one server with no move in between
        self.staff_suspended: dict[int, str] = {}  # server id -> the owner staff suspended it for
        self.checks = Checks(self)

    def close(self) -> None:
        db.session.remove()
        logging.getLogger("oxnack_admin").removeHandler(self.errors)
        self.travel.stop()
        self.proxmox.stop()
        self.pfsense.stop()

    # --- who is who ------------------------------------------------------------------------------

    def user(self, index: int) -> User:
        return db.session.get(User, self.user_ids[index])

    def staff(self) -> Staff:
        return db.session.get(Staff, self.staff_id)

    def _refused(self, action) -> str:
        """Run a service call; a refusal rolls back and is the outcome, anything else raises."""
        db.session.expire_all()
        try:
            outcome = action()
        except REFUSALS as refusal:
            db.session.rollback()
            return f"refused: {type(refusal).__name__}: {refusal}"
        finally:
            db.session.expire_all()
        return str(outcome)

    def _unfinished_run(self, vmid: int | None) -> int | None:
        """The VM's provisioning run in flight (None: the oldest of any VM)."""
        query = select(ProvisioningRun.id).where(ProvisioningRun.state.in_(IN_FLIGHT)).order_by(ProvisioningRun.id)
        return db.session.scalar(query if vmid is None else query.where(ProvisioningRun.server_id == vmid))

    def _unfinished_wipe(self, vmid: int | None) -> int | None:
        """The VM's wipe in flight (None: the oldest of any VM)."""
        query = select(ServerWipe.id).where(ServerWipe.state.in_(IN_FLIGHT)).order_by(ServerWipe.id)
        return db.session.scalar(query if vmid is None else query.where(ServerWipe.server_id == vmid))

    def _customer(self, who: int | str, vmid: int) -> int:
        """A customer by index, or "owner": the VM's owner now (customer 0 for a VM nobody holds)."""
        if who != "owner":
            return who
        username = db.session.scalar(select(Server.username).where(Server.id == vmid))
        return next((i for i, user_id in enumerate(self.user_ids)
                     if username and db.session.get(User, user_id).username == username), 0)

    # --- customers -------------------------------------------------------------------------------

    def order(self, customer: int, shape: str = "small") -> str:
        """POST /create_machine."""
        return self._refused(lambda: placement.place_order(
            self.user(customer), placement.Order(SHAPES[shape], "ubuntu")).server.id)

    def power(self, customer: int | str, vmid: int, action: str) -> str:
        """POST /control_server: the customer's own server only (customer_servers.owned_server)."""
        def act():
            user = self.user(self._customer(customer, vmid))
            server = db.session.scalar(select(Server).where(Server.id == vmid, Server.username == user.username,
                                                            Server.busy.is_(True)))
            if server is None:
                return "not theirs (404)"
            requested = power.request_power_action(server, action, requested_by=f"customer:{user.id}")
            db.session.rollback()
            return requested.message
        return self._refused(act)

    def renew(self, customer: int | str, vmid: int) -> str:
        """POST /renew_server."""
        return self._refused(lambda: renewal.renew_for_customer(self.user(self._customer(customer, vmid)), vmid))

    def top_up(self, customer: int, amount: int) -> str:
        """A Platega payment confirmed: the invoice credited as the callback does (then suspended servers resume)."""
        def act():
            invoice = make_invoice(self.user(customer), amount)
            seen = platega.GatewayTransaction(invoice.gateway_id, platega.CONFIRMED, Decimal(amount), None, None,
                                              {"status": platega.CONFIRMED})
            return crediting.apply(invoice.id, seen, "callback").action
        return self._refused(act)

    # --- jobs and the clock ----------------------------------------------------------------------

    def provisioning_step(self, vmid: int | None = None, last_attempt: bool = False) -> str:
        """One step of the VM's unfinished provisioning run (else the oldest one), as its job would take it."""
        run_id = self._unfinished_run(vmid) or self._unfinished_run(None)
        if run_id is None:
            return "no run"
        db.session.rollback()
        return self._refused(lambda: provisioning_runs.advance(run_id, last_attempt=last_attempt, max_steps=1).state)

    def wipe_step(self, vmid: int | None = None, last_attempt: bool = False) -> str:
        """One step of the VM's unfinished wipe (else the oldest one), as its job would take it."""
        wipe_id = self._unfinished_wipe(vmid) or self._unfinished_wipe(None)
        if wipe_id is None:
            return "no wipe"
        db.session.rollback()
        return self._refused(lambda: termination.carry_out(wipe_id, last_attempt=last_attempt, max_steps=1).state)

    def run_jobs(self) -> str:
        """A worker empties the default queue (power actions, lifecycle power changes, resumes), in process."""
        db.session.remove()
        if not queueing.get_queue(queueing.DEFAULT).count:
            return "nothing queued"
        run_worker(self.app, [queueing.DEFAULT], burst=True, with_scheduler=False, worker_class=InProcessWorker)
        return "worked"

    def billing_pass(self, hours: int) -> str:
        """The clock moves `hours` on, then the hourly billing pass runs at that moment."""
        if hours:
            self.time.shift(timedelta(hours=hours))
            self.clock_moves += 1
        now = clock.now()
        report = cycle.run_cycle(now=now)
        db.session.expire_all()
        left = [server.id for server in db.session.scalars(select(Server).where(
            Server.busy.is_(True), Server.username.is_not(None), Server.attention.is_(None),
            Server.lifecycle_state == LifecycleState.ACTIVE, Server.paid_until <= now))
            if self._unfinished_run(server.id) is None]
        # The pass renews or suspends every server whose period is over: none may run on unpaid.
        assert not left, f"after the billing pass at {now}, servers {left} are active past their period end " \
                         f"(the pass said {report.summary()})"
        return report.summary()

    # --- staff -----------------------------------------------------------------------------------

    def _staff_action(self, action) -> str:
        def act():
            result = action()
            db.session.commit()
            return result
        return self._refused(act)

    def staff_suspend(self, vmid: int) -> str:
        owner = db.session.scalar(select(Server.username).where(Server.id == vmid))
        outcome = self._staff_action(lambda: lifecycle_admin.suspend_now(vmid, self.staff()))
        if not outcome.startswith("refused"):
            self.staff_suspended[vmid] = owner
        return outcome

    def staff_unsuspend(self, vmid: int) -> str:
        outcome = self._staff_action(lambda: lifecycle_admin.unsuspend(vmid, self.staff()))
        if not outcome.startswith("refused"):
            self.staff_suspended.pop(vmid, None)
        return outcome

    def staff_terminate(self, vmid: int) -> str:
        return self._staff_action(lambda: lifecycle_admin.terminate_now(vmid, self.staff()).id)

    def staff_release(self, vmid: int) -> str:
        return self._staff_action(lambda: release_server(vmid, self.staff()).id)

    def staff_move_period_end(self, vmid: int, days: int) -> str:
        """Staff set the period end `days` away from where it is (a correction, a goodwill day)."""
        paid_until = db.session.scalar(select(Server.paid_until).where(Server.id == vmid))
        if paid_until is None:
            return "no period"
        return self._staff_action(lambda: lifecycle_admin.change_period_end(
            vmid, self.staff(), paid_until + timedelta(days=days)))
