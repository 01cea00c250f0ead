"""The invariants of issue 17, checked after every step of tests/lifecycle/test_interleavings.py.

One snapshot of the database (a handful of queries: they run thousands of times) and of the
simulators; each check returns what it found broken, so a failure names every broken rule.
"""
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import MailMessage, ProvisioningRun, Server, ServerEvent, ServerWipe, \
    Transaction, User
from oxnack_admin.models.enums import LifecycleState, RunState, TransactionStatus, \
    TransactionType
from oxnack_admin.services.fleet.release import network_descr
from tests.support.ledger import ledger_mismatches

IN_FLIGHT = (RunState.PENDING, RunState.RUNNING)


@dataclass
class Snapshot:
    servers: dict[int, Server]
    users: dict[int, User]
    runs: list[ProvisioningRun]
    wipes_in_flight: list[ServerWipe]

    @classmethod
    def take(cls, vmids) -> "Snapshot":
        return cls({server.id: server for server in db.session.scalars(select(Server).where(Server.id.in_(vmids)))},
                   {user.id: user for user in db.session.scalars(select(User))},
                   list(db.session.scalars(select(ProvisioningRun))),
                   list(db.session.scalars(select(ServerWipe).where(ServerWipe.state.in_(IN_FLIGHT)))))

    def owner(self, server: Server) -> User | None:
        if not server.busy or not server.username:
            return None
        return next((user for user in self.users.values() if user.username == server.username), None)


class Checks:
    """What the invariants remember between steps: the rows already looked at, the clock moves."""

    def __init__(self, world):
        self.world = world
        self.seen_mail = self.seen_event = self.seen_renewal = 0
        self.renewed_at_move: dict[tuple[int, str], int] = {}  # (server, owner) -> clock move of its last renewal

    def broken(self) -> list[str]:
        """Every invariant that does not hold now (empty: all is well)."""
        db.session.rollback()
        db.session.expire_all()
        try:
            now = Snapshot.take(self.world.vmids)
            return (self.ledger() + self.ownership(now) + self.pool(now) + self.orders(now) + self.renewals(now)
                    + self.password_mails(now) + self.staff_suspensions(now) + self.errors_logged())
        finally:
            db.session.rollback()

    def ledger(self) -> list[str]:
        """Each balance equals its ledger."""
        with db.engine.connect() as connection:
            return [f"ledger: user {m.id} balance {m.balance} != ledger {m.ledger}"
                    for m in ledger_mismatches(connection)]

    def ownership(self, now: Snapshot) -> list[str]:
        """A VM has one owner's work at a time; a provisioning run or a wipe in flight matches its server."""
        problems = []
        for vmid, server in now.servers.items():
            runs = [run for run in now.runs if run.server_id == vmid and run.state in IN_FLIGHT]
            wipes = [wipe for wipe in now.wipes_in_flight if wipe.server_id == vmid]
            if len(runs) + len(wipes) > 1:
                problems.append(f"VM {vmid}: {len(runs)} provisioning runs and {len(wipes)} wipes in flight at once")
            for run in runs:
                customer = now.users[run.user_id]
                if not server.busy or server.username != customer.username or \
                        server.lifecycle_state != LifecycleState.PROVISIONING:
                    problems.append(f"VM {vmid}: provisioning run {run.id} for {customer.username} is in flight but "
                                    f"the server is busy={server.busy} owner={server.username} "
                                    f"state={server.lifecycle_state}")
            for wipe in wipes:
                if not server.busy or server.username is not None or server.lifecycle_state != LifecycleState.WIPING:
                    problems.append(f"VM {vmid}: wipe {wipe.id} is in flight but the server is busy={server.busy} "
                                    f"owner={server.username} state={server.lifecycle_state}")
        return problems

    def pool(self, now: Snapshot) -> list[str]:
        """A pool VM is stopped and has no DHCP mapping, 1:1 NAT or firewall rule."""
        problems = []
        proxmox, pfsense = self.world.proxmox, self.world.pfsense
        mappings, nats, rules = pfsense.static_mappings, pfsense.nat_mappings, pfsense.rules
        for server in now.servers.values():
            if server.busy:
                continue
            if proxmox.has_vm(server.id) and proxmox.vm(server.id).status != "stopped":
                problems.append(f"pool VM {server.id} is {proxmox.vm(server.id).status} in Proxmox")
            descr = network_descr(server.id)
            left = ([f"DHCP mapping {m['mac']}" for m in mappings if m["ipaddr"] == server.lan_ip]
                    + ["1:1 NAT" for n in nats if n["descr"] == descr]
                    + ["WAN rule" for r in rules if r["descr"] == descr])
            if left:
                problems.append(f"pool VM {server.id} still has pfSense objects: {', '.join(left)}")
        return problems

    def orders(self, now: Snapshot) -> list[str]:
        """Nobody pays for an order without getting the server, or getting the money back."""
        problems = []
        runs = {run.order_transaction_id: run for run in now.runs}
        for row in db.session.scalars(select(Transaction).where(
                Transaction.type == TransactionType.ORDER, Transaction.status == TransactionStatus.CONFIRMED)):
            run, server = runs.get(row.id), now.servers[row.server_id]
            if run is None:
                problems.append(f"order row {row.id} of {row.username}: no provisioning run")
            elif run.state == RunState.FAILED and run.refund_transaction_id is None:
                problems.append(f"order row {row.id} of {row.username}: run {run.id} failed, nothing refunded")
            elif run.state in IN_FLIGHT and server.username != row.username:
                problems.append(f"order row {row.id} of {row.username}: run {run.id} in flight, VM {server.id} "
                                f"now belongs to {server.username!r}, nothing refunded")
        return problems

    def renewals(self, now: Snapshot) -> list[str]:
        """A renewal charges the server's owner, once per click, for RENTAL_DAYS of new time."""
        problems = []
        days = timedelta(days=current_app.config["RENTAL_DAYS"])
        moves = self.world.clock_moves
        for row in db.session.scalars(select(Transaction).where(
                Transaction.type == TransactionType.RENEWAL, Transaction.id > self.seen_renewal)
                .order_by(Transaction.id)):
            self.seen_renewal = row.id
            server = now.servers[row.server_id]
            if server.username != row.username:
                problems.append(f"renewal row {row.id}: {row.username} charged for VM {server.id} "
                                f"held by {server.username!r}")
            if self.renewed_at_move.get((server.id, row.username)) == moves:
                problems.append(f"renewal row {row.id}: VM {server.id} of {row.username} renewed and paid twice "
                                "with no time passing in between (a double click pays twice)")
            self.renewed_at_move[server.id, row.username] = moves
        for event in db.session.scalars(select(ServerEvent).where(
                ServerEvent.kind == "renewed", ServerEvent.id > self.seen_event).order_by(ServerEvent.id)):
            self.seen_event = event.id
            detail = event.detail or {}
            if not detail.get("charged") or detail.get("price") in (None, "0") or not detail.get("previous_end"):
                continue
            previous_end, new_end = (datetime.fromisoformat(detail[key]) for key in ("previous_end", "date_stop"))
            if new_end < previous_end + days:
                problems.append(f"VM {event.server_id}: {event.username} paid a period, the end moved only from "
                                f"{previous_end:%Y-%m-%d %H:%M} to {new_end:%Y-%m-%d %H:%M}: "
                                f"{previous_end + days - new_end} of paid time lost")
        return problems

    def password_mails(self, now: Snapshot) -> list[str]:
        """A root password goes only to the server's owner at the moment the mail is queued."""
        problems = []
        for message in db.session.scalars(select(MailMessage).where(
                MailMessage.kind == "server_ready", MailMessage.id > self.seen_mail).order_by(MailMessage.id)):
            self.seen_mail = message.id
            # The mail names its server in the subject ("... №<id> ...").
            server = now.servers[int(re.search(r"№(\d+)", message.subject).group(1))]
            owner = now.owner(server)
            if owner is None or owner.mail != message.to_email or server.lifecycle_state == LifecycleState.WIPING:
                problems.append(f"mail {message.id}: the root password of VM {server.id} went to {message.to_email}, "
                                f"the VM belongs to {owner.mail if owner else 'nobody (pool or wipe)'}")
        return problems

    def staff_suspensions(self, now: Snapshot) -> list[str]:
        """Only staff lift a staff suspension: never the customer's renew nor a top-up."""
        problems = []
        for vmid, owner in list(self.world.staff_suspended.items()):
            server = now.servers[vmid]
            if server.username != owner or not server.busy or server.lifecycle_state == LifecycleState.WIPING:
                del self.world.staff_suspended[vmid]  # terminated or released: the suspension ended with the rental
            elif server.lifecycle_state != LifecycleState.SUSPENDED:
                problems.append(f"VM {vmid}: staff suspended it, now it is {server.lifecycle_state} "
                                "and no staff lifted the suspension")
        return problems

    def errors_logged(self) -> list[str]:
        """The app logged no error (the billing pass and a credit's follow-up log what they swallow)."""
        found, self.world.errors.records = self.world.errors.records, []
        return [f"error logged: {record}" for record in found]
