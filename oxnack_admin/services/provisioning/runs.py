"""Provisioning runs: opened by an order, carried out step by step by `jobs.provisioning`.

A run is one row plus a row per step. `advance` resumes at the first step not done and commits
every state change as it happens, so a crash, an RQ retry or a staff retry continues exactly
where the last attempt stopped. Two guards keep attempts apart: a PostgreSQL advisory lock per
run, held on its own connection so it dies with a killed worker, and the per-VM Redis lock
shared with power actions. Every step starts by checking, on the server's locked row, that the
server is still being provisioned for the run's customer (services/fleet/states.py): a run whose
server was taken from the customer never touches the VM, mails nobody and refunds the customer.

A reinstall (`kind` "reinstall", services/provisioning/reinstall.py) is a run too, with the wipe's
stop, destroy and clone before the order's steps: it moves the server reinstalling -> active, and
a failure flags it for staff instead of refunding (nothing was charged).
"""
import logging
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select, update

from oxnack_admin.extensions import db
from oxnack_admin.models import ProvisioningRun, ProvisioningStep, Server, Transaction, User
from oxnack_admin.models.enums import STEPS_OF_KIND, RunKind, RunState, TransactionType
from oxnack_admin.services.fleet import states, vm_locks
from oxnack_admin.services.fleet.release import return_to_pool
from oxnack_admin.services.fleet.states import Actor, Event
from oxnack_admin.services.lifecycle import clock
from oxnack_admin.services import notices
from oxnack_admin.services.money import ledger
from oxnack_admin.services.ops import advisory_locks, queueing
from oxnack_admin.services.ops.retryable import describe, is_transient
from oxnack_admin.services.provisioning.steps import STEPS, Facts, StepContext
from oxnack_admin.services.staff import audit
from oxnack_admin.services.support import alerts

log = logging.getLogger(__name__)

JOB = "jobs.provisioning.provision_server"
ADVISORY_LOCK_CLASS = advisory_locks.PROVISIONING_RUN  # first key of the runs' advisory locks; the second is the run id


class RetryRefused(Exception):
    """Staff cannot retry (or fail) this run now; the message says why."""


class ServerTakenAway(Exception):
    """The run's server is no longer being provisioned for its customer; no step may touch it."""

    retryable = False


def open_run(server: Server, user: User, *, cores: int, ram: int, hdd: int, os: str, price: Decimal,
             promo: str | None, order_transaction_id: int | None, kind: str = RunKind.ORDER) -> ProvisioningRun:
    """Record a run with every step pending, in the caller's transaction."""
    run = ProvisioningRun(server_id=server.id, user_id=user.id, cores=cores, ram=ram, hdd=hdd, os=os,
                          price=price, promo=promo, order_transaction_id=order_transaction_id, kind=kind,
                          steps=[ProvisioningStep(position=i, name=name) for i, name in enumerate(STEPS_OF_KIND[kind])])
    db.session.add(run)
    db.session.flush()
    return run


def schedule(run: ProvisioningRun) -> None:
    """Queue the run's job once the order commits."""
    queueing.enqueue_after_commit(queueing.PROVISIONING, JOB, run.id, **queueing.provisioning_job_options())


def advance(run_id: int, *, job_id: str | None = None, last_attempt: bool = True,
            max_steps: int | None = None) -> ProvisioningRun | None:
    """Carry the run on from its first step not done; commits as it goes and raises when a step fails.

    With `max_steps`, stop after that many steps and leave the run unfinished: the next call resumes
    (tests/lifecycle/test_interleavings.py interleaves single steps with other flows).

    On a permanent failure, or a transient one on the `last_attempt`, the run is failed for good
    (refund, VM handled, customer told) before the error is raised again.
    """
    with advisory_locks.try_exclusive(ADVISORY_LOCK_CLASS, run_id) as ours:
        if not ours:
            log.info("provisioning run %s is being carried out by another worker", run_id)
            return None
        run = db.session.get(ProvisioningRun, run_id)
        if run is None or run.is_final:
            return run
        server_id = run.server_id
        try:
            token = vm_locks.acquire_for_attempt(server_id, f"provision:{run_id}", "provisioning")
            try:
                _carry_out(run, job_id, max_steps)
            finally:
                vm_locks.release(server_id, token)
        except Exception as exc:
            if last_attempt or not is_transient(exc):
                _give_up(run_id, describe(exc), transient=is_transient(exc))
            raise
        return run


def fail_run(run_id: int, reason: str, *, transient: bool = False) -> ProvisioningRun:
    """Fail the run for good: refund once, handle the VM, tell the customer. Safe to call twice."""
    with advisory_locks.try_exclusive(ADVISORY_LOCK_CLASS, run_id) as ours:
        if not ours:
            raise RetryRefused(f"provisioning run {run_id} is being carried out right now")
        return _give_up(run_id, reason, transient=transient)


def retry_run(run_id: int, actor) -> ProvisioningRun:
    """Staff retry from the failed step; a refunded customer is charged again. The caller commits.

    A refunded run is paid for again through the ledger (refused when the balance does not cover
    it), so every delivered server is paid exactly once. A run still pending or running is only
    queued again (e.g. after a worker died); the per-run lock keeps two attempts apart.
    """
    run = db.session.execute(select(ProvisioningRun).where(ProvisioningRun.id == run_id)
                             .with_for_update()).scalar_one_or_none()
    if run is None:
        raise RetryRefused(f"no provisioning run {run_id}")
    if run.state == RunState.DONE:
        raise RetryRefused(f"provisioning run {run_id} is already done")
    before = {"state": run.state, "error": run.error, "refund_transaction_id": run.refund_transaction_id}
    if run.state == RunState.FAILED:
        if _is_reinstall(run):
            _reclaim_reinstall(run)
        else:
            _reclaim(run, actor)
        for step in run.steps:
            if step.state in (RunState.FAILED, RunState.RUNNING):
                step.state = RunState.PENDING
        run.state, run.error, run.finished_at = RunState.PENDING, None, None
    audit.record(actor, f"{_label(run)}.retry", "provisioning_run", run.id, before=before,
                 after={"state": run.state, "refund_transaction_id": run.refund_transaction_id})
    db.session.flush()
    schedule(run)
    return run


def resume_stuck_runs(older_than_minutes: float | None = None) -> list[int]:
    """Queue again every unfinished run untouched for a while (its worker died or its job was lost)."""
    minutes = current_app.config["PROVISIONING_STUCK_MINUTES"] if older_than_minutes is None else older_than_minutes
    cutoff = _now() - timedelta(minutes=minutes)
    run_ids = list(db.session.scalars(select(ProvisioningRun.id).where(
        ProvisioningRun.state.in_([RunState.PENDING, RunState.RUNNING]), ProvisioningRun.updated_at <= cutoff)))
    for run_id in run_ids:
        log.warning("provisioning run %s looks stuck; queueing it again", run_id)
        queueing.enqueue(queueing.PROVISIONING, JOB, run_id, **queueing.provisioning_job_options())
    if run_ids:
        # Touched, so the next sweeps give the job queued now its time: behind a long queue every
        # pass queued the same run again and the duplicates snowballed (found by the soak).
        db.session.execute(update(ProvisioningRun).where(ProvisioningRun.id.in_(run_ids)).values(updated_at=_now()))
        db.session.commit()
    return run_ids


# --- carrying a run out ------------------------------------------------------------------------

def _carry_out(run: ProvisioningRun, job_id: str | None, max_steps: int | None = None) -> None:
    run.state, run.job_id, run.updated_at = RunState.RUNNING, job_id or run.job_id, _now()
    db.session.commit()
    for step in run.steps:
        if step.state != RunState.DONE:
            if max_steps is not None and max_steps <= 0:
                return  # still RUNNING: the next advance() resumes here
            _carry_out_step(run, step)
            max_steps = None if max_steps is None else max_steps - 1
    server = _lock_server_of(run)
    states.move(server, Event.REINSTALLED if _is_reinstall(run) else Event.PROVISIONED, Actor.SYSTEM)
    run.state, run.error, run.finished_at = RunState.DONE, None, _now()
    audit.record(None, f"{_label(run)}.done", "provisioning_run", run.id, after={"server_id": run.server_id})
    db.session.commit()
    log.info("provisioning run %s done: server %s is running", run.id, run.server_id)


def _lock_server_of(run: ProvisioningRun) -> Server:
    """The run's server, locked, if it is still being provisioned for the run's customer."""
    server = db.session.scalar(select(Server).where(Server.id == run.server_id).with_for_update()
                               .execution_options(populate_existing=True))
    if not _still_provisioning_for(run, server):
        raise ServerTakenAway(f"server {run.server_id} is no longer being provisioned for this order "
                              f"({states.state_of(server)}, owner {server.username!r})")
    return server


def _still_provisioning_for(run: ProvisioningRun, server: Server) -> bool:
    user = db.session.get(User, run.user_id)
    expected = states.REINSTALLING if _is_reinstall(run) else states.PROVISIONING
    return bool(server.busy and user.username and server.username == user.username
                and states.state_of(server) == expected)


def _is_reinstall(run: ProvisioningRun) -> bool:
    return run.kind == RunKind.REINSTALL


def _label(run: ProvisioningRun) -> str:
    return "reinstall" if _is_reinstall(run) else "provisioning"


def _carry_out_step(run: ProvisioningRun, step: ProvisioningStep) -> None:
    server = _lock_server_of(run)  # held until the commit below: a termination waits, then finds it still ours
    context = StepContext(Facts.of(run, server, db.session.get(User, run.user_id)), server)
    name, attempt, started = step.name, step.attempts + 1, _now()
    step.state, step.attempts, step.started_at, step.finished_at = RunState.RUNNING, attempt, started, None
    run.updated_at = started
    # The record shows where an attempt is, even if the worker dies in the step. The commit also
    # ends the transaction: the step reads `facts`, so none stays open during remote calls.
    db.session.commit()
    log.info("provisioning run %s: %s (attempt %s)", context.facts.run_id, name, attempt)
    try:
        result = STEPS[name](context)
    except Exception as exc:
        db.session.rollback()
        error = describe(exc)
        step.state, step.error, step.finished_at = RunState.FAILED, error, _now()
        run.error = f"{name}: {error}"
        db.session.commit()
        log.warning("provisioning run %s: %s failed: %s", context.facts.run_id, name, error)
        raise
    step.state, step.result, step.error, step.finished_at = RunState.DONE, result, None, _now()
    db.session.commit()


def _give_up(run_id: int, reason: str, transient: bool) -> ProvisioningRun:
    """Mark the run failed, refund once, settle the VM, tell the customer; commits."""
    db.session.rollback()
    run = db.session.execute(select(ProvisioningRun).where(ProvisioningRun.id == run_id)
                             .with_for_update()).scalar_one()
    if run.state == RunState.DONE:
        db.session.rollback()
        return run
    if run.state == RunState.FAILED:  # a repeated call only makes sure of the refund; the first reason stays
        if not _is_reinstall(run):
            _refund_once(run)
        db.session.commit()
        return run
    now = _now()
    for step in run.steps:
        if step.state == RunState.RUNNING:
            step.state, step.error, step.finished_at = RunState.FAILED, reason, now
    run.state, run.error, run.finished_at = RunState.FAILED, reason, now
    user = db.session.get(User, run.user_id)
    alerts.alert("provisioning_failed", f"Run {run.id} ({run.kind}) of server {run.server_id} failed: {reason}",
                 ("console.servers_run", {"run_id": run.id}))
    if _is_reinstall(run):
        return _give_up_reinstall(run, user, reason)
    _refund_once(run)
    settled = _settle_vm(run, reason, transient)
    notices.notify(user, "provisioning_failed", server_id=run.server_id, price=ledger.as_json_number(run.price),
                   cores=run.cores, ram=run.ram, hdd=run.hdd, os=run.os)
    audit.record(None, "provisioning.failed", "provisioning_run", run.id,
                 after={"reason": reason, "vm": settled, "refund_transaction_id": run.refund_transaction_id})
    db.session.commit()
    log.warning("provisioning run %s failed for good: %s", run_id, reason)
    return run


def _give_up_reinstall(run: ProvisioningRun, user: User, reason: str) -> ProvisioningRun:
    """A failed reinstall keeps the server reinstalling, flagged for staff; nothing to refund."""
    server = db.session.execute(select(Server).where(Server.id == run.server_id).with_for_update()).scalar_one()
    settled = "left as it is: no longer this owner's"
    if _still_provisioning_for(run, server):
        states.move(server, Event.REINSTALL_FAIL, Actor.SYSTEM)
        failed_step = next((s.name for s in run.steps if s.state == RunState.FAILED), "start")
        server.attention = f"reinstall run {run.id} failed at {failed_step}: {reason}"[:500]
        settled = "flagged for staff"
        notices.notify(user, "reinstall_failed", server_id=run.server_id, os=run.os)
    audit.record(None, "reinstall.failed", "provisioning_run", run.id, after={"reason": reason, "vm": settled})
    db.session.commit()
    log.warning("reinstall run %s failed for good: %s", run.id, reason)
    return run


def _reclaim_reinstall(run: ProvisioningRun) -> None:
    """Staff retry a failed reinstall: the server must still be its owner's, reinstalling and flagged."""
    server = db.session.execute(select(Server).where(Server.id == run.server_id).with_for_update()).scalar_one()
    if not _still_provisioning_for(run, server):
        raise RetryRefused(f"VM {server.id} is no longer this reinstall's ({states.state_of(server)})")
    try:
        states.move(server, Event.RETRY, Actor.STAFF)
    except states.TransitionRefused as refused:
        raise RetryRefused(str(refused)) from None
    server.attention = None


def _refund_once(run: ProvisioningRun) -> None:
    if run.refund_transaction_id is not None:
        return
    recharges = _recharge_count(run)
    # The first refund keeps the plain key; each staff re-charge gets its own refund key.
    key = f"refund:provisioning:{run.id}" + (f":{recharges}" if recharges else "")
    refund = ledger.move_money(run.user_id, run.price, TransactionType.REFUND,
                               f"refund: server {run.server_id} could not be created", server_id=run.server_id,
                               idempotency_key=key)
    if refund is None:  # refunded by an earlier call whose run update was lost: link that row
        refund = db.session.scalar(select(Transaction).where(Transaction.idempotency_key == key))
    run.refund_transaction_id = refund.id


def _settle_vm(run: ProvisioningRun, reason: str, transient: bool) -> str:
    """Back to the pool when nothing but step 1 was tried and the error may pass; else flag for staff.

    Step 1 overwrites everything it sets on the next order, so a VM that failed there (Proxmox
    down, a backup lock) is as good as new. After a later step the disk may be grown, firewall
    entries made or the VM running with the customer's password; after a permanent error the next
    order would fail the same way. Those stay with the owner, flagged, until staff retry or release.
    """
    server = db.session.execute(select(Server).where(Server.id == run.server_id).with_for_update()).scalar_one()
    if not _still_provisioning_for(run, server):
        return "left as it is: no longer this order's"
    failed_step = next((s.name for s in run.steps if s.state == RunState.FAILED), "start")
    touched = any(step.state == RunState.DONE for step in run.steps) or bool(server.network_refs)
    if transient and not touched:
        states.move(server, Event.GIVE_BACK, Actor.SYSTEM)
        return_to_pool(server)
        return "returned to the pool"
    states.move(server, Event.FAIL, Actor.SYSTEM)
    server.attention = f"provisioning run {run.id} failed at {failed_step}: {reason}"[:500]
    return "flagged for staff"


def _reclaim(run: ProvisioningRun, actor) -> None:
    """Make the run's VM the customer's again and, if they were refunded, charge them again."""
    server = db.session.execute(select(Server).where(Server.id == run.server_id).with_for_update()).scalar_one()
    user = db.session.get(User, run.user_id)
    still_theirs = bool(server.busy and user.username and server.username == user.username
                        and states.state_of(server) in (states.FAILED, states.PROVISIONING))
    if not still_theirs and not server.is_free:
        raise RetryRefused(f"VM {server.id} went back to the pool and is taken now; the customer can order again")
    if run.refund_transaction_id is not None and ledger.balance_of(user.id) < run.price:
        raise RetryRefused(f"the customer was refunded {run.price} and their balance no longer covers it; "
                           "ask them to top up, or they can order again")
    if still_theirs:
        states.move(server, Event.RETRY, Actor.STAFF)
    else:
        states.move(server, Event.SELL, Actor.STAFF)
        server.busy, server.username = True, user.username
        server.discription = f"promocode: {run.promo}" if run.promo else None
        server.rented_at = clock.now()
        server.paid_until = server.rented_at + timedelta(days=current_app.config["RENTAL_DAYS"])
        server.auto_renew, server.reminded_days = True, None
    if run.refund_transaction_id is not None:
        ledger.move_money(user.id, -run.price, TransactionType.ORDER,
                          f"server {server.id}: provisioning retried by staff", server_id=server.id,
                          staff_id=getattr(actor, "id", None),
                          idempotency_key=f"charge:provisioning:{run.id}:{_recharge_count(run) + 1}")
        run.refund_transaction_id = None
    server.attention = None


def _recharge_count(run: ProvisioningRun) -> int:
    return db.session.scalar(select(func.count(Transaction.id)).where(
        Transaction.idempotency_key.like(f"charge:provisioning:{run.id}:%")))


def _now() -> datetime:
    return datetime.now(timezone.utc)
