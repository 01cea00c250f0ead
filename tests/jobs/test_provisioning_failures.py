"""Runs that fail for good: refunded exactly once, VM handled, customer told; staff retry."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, MailMessage, Server, Transaction
from oxnack_admin.models.enums import RunState, TransactionType
from oxnack_admin.services.money import ledger
from oxnack_admin.services.provisioning import runs as provisioning_runs
from oxnack_admin.services.fleet import vm_locks
from tests.jobs.support import assert_ledger_consistent, place, reload_run, steps_of
from tests.support.factories import make_staff, make_user


def _refunds(user_id):
    return list(db.session.scalars(select(Transaction).where(Transaction.user_id == user_id,
                                                             Transaction.type == TransactionType.REFUND)))


def _mail_kinds():
    return [m.kind for m in db.session.scalars(select(MailMessage).order_by(MailMessage.id))]


def test_a_permanent_failure_refunds_once_flags_the_vm_and_tells_the_customer(app, proxmox, pfsense, smtp, pool,
                                                                              customer, work):
    pool(1)
    proxmox.fail_task_next("resize", "disk 'scsi0' resize failed: storage is full")
    placed = place(customer, hdd=22)
    run_id, price = placed.run.id, placed.price

    work()

    run = reload_run(run_id)
    assert run.state == RunState.FAILED and "storage is full" in run.error
    # A permanent error spends no retries.
    assert steps_of(run)["configure_vm"] == (RunState.DONE, 1)
    assert steps_of(run)["resize_disk"] == (RunState.FAILED, 1)
    assert steps_of(run)["network"] == (RunState.PENDING, 0)
    [refund] = _refunds(customer.id)
    assert refund.amount == price and refund.idempotency_key == f"refund:provisioning:{run_id}"
    assert run.refund_transaction_id == refund.id
    server = db.session.get(Server, placed.server.id)
    # Step 1 was done (password set, VM renamed): it stays with the owner, flagged for staff.
    assert server.busy and server.username == customer.username
    assert "resize_disk" in server.attention and "storage is full" in server.attention
    assert _mail_kinds() == ["provisioning_failed"]
    [message] = smtp.messages
    assert message["To"] == customer.mail and "возвращены" in message["Subject"]
    failed = db.session.query(AuditEvent).filter_by(action="provisioning.failed").one()
    assert failed.actor == "system" and failed.after["vm"] == "flagged for staff"
    assert vm_locks.holder(server.id) is None

    # The failure handler run again (a duplicate job, a staff click) changes nothing.
    provisioning_runs.fail_run(run_id, "failed again")
    provisioning_runs.fail_run(run_id, "and again")
    db.session.expire_all()
    assert len(_refunds(customer.id)) == 1
    assert _mail_kinds() == ["provisioning_failed"]
    assert "storage is full" in reload_run(run_id).error  # the first reason stays
    assert customer.balance == Decimal(500)
    assert_ledger_consistent(customer.id)


def test_a_vm_locked_through_every_retry_goes_back_to_the_pool(app, proxmox, pfsense, smtp, pool, customer, work):
    pool(1)
    proxmox.stick_lock(301, "backup")
    placed = place(customer)

    work()

    run = reload_run(placed.run.id)
    assert run.state == RunState.FAILED and "locked (backup)" in run.error
    assert steps_of(run)["configure_vm"] == (RunState.FAILED, 3)  # first try and two retries
    server = db.session.get(Server, 301)
    # Nothing past step 1 happened, and step 1 is redone by the next order: sell it again.
    assert server.is_free and server.username is None and server.passwd is None and server.attention is None
    assert len(_refunds(customer.id)) == 1
    assert customer.balance == Decimal(500)
    assert_ledger_consistent(customer.id)
    assert len(smtp.messages) == 1


def test_staff_retry_charges_again_and_resumes_at_the_failed_step(app, proxmox, pfsense, smtp, pool, customer,
                                                                  work):
    pool(1)
    proxmox.fail_task_next("resize", "storage is full")
    placed = place(customer, hdd=22)
    run_id, price = placed.run.id, placed.price
    work()
    assert reload_run(run_id).state == RunState.FAILED
    staff = make_staff("admin")

    provisioning_runs.retry_run(run_id, staff)
    db.session.commit()
    work()

    run = reload_run(run_id)
    assert run.state == RunState.DONE and run.refund_transaction_id is None
    assert steps_of(run)["configure_vm"] == (RunState.DONE, 1)  # not redone
    assert steps_of(run)["resize_disk"] == (RunState.DONE, 2)
    assert len(proxmox.calls_to("POST", r"/qemu/301/config$")) == 1
    assert "size=22G" in proxmox.vm(301).config["scsi0"]
    server = db.session.get(Server, 301)
    assert server.attention is None and server.status == "on"
    charge = db.session.scalar(select(Transaction)
                               .where(Transaction.idempotency_key == f"charge:provisioning:{run_id}:1"))
    assert charge.amount == -price and charge.staff_id == staff.id
    assert customer.balance == 500 - price  # paid once, net
    assert_ledger_consistent(customer.id)
    assert _mail_kinds() == ["provisioning_failed", "server_ready"]
    assert db.session.query(AuditEvent).filter_by(action="provisioning.retry").one().staff_id == staff.id


def test_a_second_failure_after_a_staff_retry_refunds_the_second_charge(app, proxmox, pfsense, smtp, pool, customer,
                                                                        work):
    pool(1)
    proxmox.fail_task_next("resize", "storage is full")
    proxmox.fail_task_next("resize", "storage is still full")
    placed = place(customer, hdd=22)
    work()
    provisioning_runs.retry_run(placed.run.id, make_staff("admin"))
    db.session.commit()
    work()

    run = reload_run(placed.run.id)
    assert run.state == RunState.FAILED and "still full" in run.error
    refunds = _refunds(customer.id)
    assert [r.idempotency_key for r in refunds] == [f"refund:provisioning:{run.id}", f"refund:provisioning:{run.id}:1"]
    assert customer.balance == Decimal(500)
    assert_ledger_consistent(customer.id)


def test_staff_retry_is_refused_when_the_refunded_customer_cannot_pay_again(app, proxmox, pfsense, smtp, pool,
                                                                            customer, work):
    pool(1)
    proxmox.fail_task_next("resize", "storage is full")
    placed = place(customer, hdd=22)
    work()
    ledger.move_money(customer.id, Decimal(-490), TransactionType.ADJUSTMENT, "spent elsewhere")
    db.session.commit()
    rows_before = db.session.query(Transaction).count()

    with pytest.raises(provisioning_runs.RetryRefused, match="balance"):
        provisioning_runs.retry_run(placed.run.id, make_staff("admin"))
    db.session.rollback()

    assert db.session.query(Transaction).count() == rows_before
    assert reload_run(placed.run.id).state == RunState.FAILED
    assert_ledger_consistent(customer.id)


def test_staff_retry_reclaims_a_vm_that_went_back_to_the_pool(app, proxmox, pfsense, smtp, pool, customer, work):
    pool(1)
    proxmox.stick_lock(301)
    placed = place(customer)
    work()
    assert db.session.get(Server, 301).is_free
    proxmox.clear_lock(301)

    provisioning_runs.retry_run(placed.run.id, make_staff("admin"))
    db.session.commit()
    work()

    assert reload_run(placed.run.id).state == RunState.DONE
    server = db.session.get(Server, 301)
    assert server.busy and server.username == customer.username and server.paid_until is not None
    assert customer.balance == 500 - placed.price
    assert_ledger_consistent(customer.id)


def test_staff_retry_is_refused_when_the_pool_vm_was_sold_again(app, proxmox, pfsense, smtp, pool, customer, work):
    pool(1)
    proxmox.stick_lock(301)
    placed = place(customer)
    work()
    proxmox.clear_lock(301)
    other = make_user("other@example.com", balance=500)
    place(other)

    with pytest.raises(provisioning_runs.RetryRefused, match="taken"):
        provisioning_runs.retry_run(placed.run.id, make_staff("admin"))
    db.session.rollback()
    assert_ledger_consistent(customer.id)


def test_a_done_run_cannot_be_retried(app, proxmox, pfsense, smtp, pool, customer, work):
    pool(1)
    placed = place(customer)
    work()
    with pytest.raises(provisioning_runs.RetryRefused, match="already done"):
        provisioning_runs.retry_run(placed.run.id, make_staff("admin"))


def test_a_vm_held_by_a_power_action_makes_provisioning_wait(app, proxmox, pfsense, smtp, pool, customer, work):
    pool(1)
    placed = place(customer)
    token = vm_locks.acquire(301, "power:stop")

    work()  # every attempt finds the VM busy: failed after the retries, money back

    run = reload_run(placed.run.id)
    assert run.state == RunState.FAILED and "busy (power:stop" in run.error
    assert proxmox.calls_to("POST", r"/qemu/301/config$") == []
    assert vm_locks.holder(301) == token  # someone else's lock is never taken over
    assert customer.balance == Decimal(500)
    assert_ledger_consistent(customer.id)
