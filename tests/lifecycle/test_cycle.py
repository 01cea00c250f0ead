"""The billing cycle pass with a frozen clock: reminders, renewal, suspension, resume on credit, dating."""
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import time_machine
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import MailMessage, Server, ServerEvent, Transaction, User
from oxnack_admin.models.enums import LifecycleState, TransactionType
from oxnack_admin.services.accounts import admin as accounts_admin
from oxnack_admin.services.lifecycle import cycle, renewal
from tests.lifecycle.conftest import assert_every_ledger_consistent, reload
from tests.support.factories import make_staff, make_user

DAY = timedelta(days=1)


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def mails(kind: str) -> list[MailMessage]:
    return list(db.session.scalars(select(MailMessage).where(MailMessage.kind == kind).order_by(MailMessage.id)))


def test_reminders_go_once_each_at_three_and_one_days(app, proxmox, smtp, sold, work):
    owner = make_user("owner@example.com", balance=0)
    end = datetime(2027, 3, 10, 12, tzinfo=timezone.utc)
    sold(owner, 301, paid_until=end)

    with at(end - 5 * DAY):
        assert cycle.run_cycle().reminded == []
    with at(end - 3 * DAY + timedelta(hours=1)):
        assert cycle.run_cycle().reminded == [301]
        assert cycle.run_cycle().reminded == []
    with at(end - 2 * DAY):
        assert cycle.run_cycle().reminded == []
    with at(end - DAY + timedelta(minutes=5)):
        assert cycle.run_cycle().reminded == [301]
        assert cycle.run_cycle().reminded == []
    work("mail")

    assert [m.state for m in mails("lifecycle_reminder")] == ["sent", "sent"]
    first, second = smtp.messages
    assert "10.03.2027" in first["Subject"] and "осталось дней: 3" in first.get_content()
    assert "осталось дней: 1" in second.get_content() and "недостаточно средств" in second.get_content()
    assert reload(Server, 301).reminded_days == 1


def test_a_pass_that_missed_the_three_day_mark_sends_one_reminder(app, proxmox, sold):
    owner = make_user(balance=100)
    end = datetime(2027, 3, 10, 12, tzinfo=timezone.utc)
    sold(owner, 301, paid_until=end)
    with at(end - timedelta(hours=20)):
        assert cycle.run_cycle().reminded == [301]
        assert cycle.run_cycle().reminded == []
    assert len(mails("lifecycle_reminder")) == 1


def test_renewal_at_date_stop_charges_once_even_with_two_concurrent_passes(app, proxmox, sold):
    owner = make_user("owner@example.com", balance=300)
    end = datetime(2027, 3, 10, 12, tzinfo=timezone.utc)
    sold(owner, 301, paid_until=end)
    assert renewal.renewal_price(reload(Server, 301)) == Decimal(240)  # 2 cores, 2 GB, 20 GB at 10 each
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def one_pass():
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                reports.append(cycle.run_cycle(end + timedelta(minutes=3)))
                db.session.remove()
        except Exception as exc:  # surfaced below: a thread cannot fail the test itself
            errors.append(exc)

    with at(end + timedelta(minutes=3)):
        threads = [threading.Thread(target=one_pass) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert errors == []
    assert sorted(len(r.renewed) for r in reports) == [0, 1]

    server = reload(Server, 301)
    assert server.paid_until == end + timedelta(days=app.config["RENTAL_DAYS"])  # from the old end, not from now
    assert server.lifecycle_state == LifecycleState.ACTIVE and server.reminded_days is None
    [row] = db.session.scalars(select(Transaction).where(Transaction.type == TransactionType.RENEWAL)).all()
    assert row.amount == Decimal(-240) and row.server_id == 301 and row.idempotency_key.startswith("renewal:301:")
    assert reload(User, owner.id).balance == Decimal(60)
    assert [m.to_email for m in mails("lifecycle_renewed")] == ["owner@example.com"]
    with at(end + timedelta(hours=2)):
        assert cycle.run_cycle().renewed == []
    assert_every_ledger_consistent()


def test_without_money_the_server_is_suspended_stopped_and_resumed_by_a_staff_credit(
        app, proxmox, smtp, sold, work):
    owner = make_user("owner@example.com", balance=30)
    end = datetime(2027, 3, 10, 12, tzinfo=timezone.utc)
    sold(owner, 301, paid_until=end)
    assert proxmox.vm(301).status == "running"

    with at(end + timedelta(minutes=1)):
        report = cycle.run_cycle()
        assert report.suspended == [301] and report.renewed == []
        assert cycle.run_cycle().suspended == []
        work()
    server = reload(Server, 301)
    assert server.lifecycle_state == LifecycleState.SUSPENDED and server.status == "off"
    assert proxmox.vm(301).status == "stopped"
    assert any("приостановлен" in m["Subject"] for m in smtp.messages)
    assert reload(User, owner.id).balance == Decimal(30)  # nothing charged

    credit_at = end + 2 * DAY
    with at(credit_at):
        accounts_admin.adjust_balance(reload(User, owner.id), Decimal(250), "goodwill", make_staff("admin"))
        db.session.commit()
        work()
    server = reload(Server, 301)
    assert server.lifecycle_state == LifecycleState.ACTIVE and server.status == "on"
    assert proxmox.vm(301).status == "running"
    # Out of suspension the new period runs from the renewal, not from the old end.
    assert server.paid_until == credit_at + timedelta(days=app.config["RENTAL_DAYS"])
    assert reload(User, owner.id).balance == Decimal(40)
    kinds = [e.kind for e in db.session.scalars(select(ServerEvent).order_by(ServerEvent.id))]
    assert kinds == ["suspended", "renewed"]
    assert_every_ledger_consistent()


def test_a_credit_too_small_or_auto_renew_off_keeps_the_server_suspended(app, proxmox, sold, work):
    owner = make_user(balance=0)
    end = datetime(2027, 3, 10, 12, tzinfo=timezone.utc)
    sold(owner, 301, paid_until=end)
    sold(owner, 302, paid_until=end, auto_renew=False)
    with at(end + timedelta(minutes=1)):
        assert cycle.run_cycle().suspended == [301, 302]
        accounts_admin.adjust_balance(reload(User, owner.id), Decimal(239), "almost", make_staff("admin"))
        db.session.commit()
        work()
        assert reload(Server, 301).lifecycle_state == LifecycleState.SUSPENDED
        accounts_admin.adjust_balance(reload(User, owner.id), Decimal(100), "more", make_staff("admin"))
        db.session.commit()
        work()
    assert reload(Server, 301).lifecycle_state == LifecycleState.ACTIVE
    assert reload(Server, 302).lifecycle_state == LifecycleState.SUSPENDED  # its owner renews it by hand
    assert renewal.resume_suspended_after_credit(owner.id) == []
    assert_every_ledger_consistent()


def test_auto_renew_off_suspends_even_with_money(app, proxmox, sold):
    owner = make_user(balance=500)
    end = datetime(2027, 3, 10, 12, tzinfo=timezone.utc)
    sold(owner, 301, paid_until=end, auto_renew=False)
    with at(end + DAY):
        assert cycle.run_cycle().suspended == [301]
    assert reload(User, owner.id).balance == Decimal(500)


def test_adopted_servers_get_the_owners_legacy_date_or_the_default(app, proxmox):
    from tests.support.factories import make_server

    with_date = make_user(balance=0, date_start="01.02.2027", date_stop="15.04.2027")
    past = make_user(balance=0, date_stop="01.01.2020")
    without = make_user(balance=0)
    for vmid, owner in ((301, with_date), (302, past), (303, without)):
        make_server(vmid, busy=True, username=owner.username, status="on")
    now = datetime(2027, 3, 1, 12, tzinfo=timezone.utc)
    with at(now):
        assert cycle.run_cycle(now).dated == [301, 302, 303]
        assert cycle.run_cycle(now).dated == []
    db.session.expire_all()
    first, second, third = (db.session.get(Server, vmid) for vmid in (301, 302, 303))
    assert first.paid_until == datetime(2027, 4, 15, tzinfo=timezone.utc)
    assert first.rented_at == datetime(2027, 2, 1, tzinfo=timezone.utc)
    assert second.paid_until == now + timedelta(days=max(app.config["RENEWAL_REMINDER_DAYS"]))
    assert third.paid_until == now + timedelta(days=app.config["LEGACY_DEFAULT_PAID_DAYS"])
    assert {s.lifecycle_state for s in (first, second, third)} == {LifecycleState.ACTIVE}


def test_flagged_or_provisioning_servers_are_left_alone(app, proxmox, sold):
    owner = make_user(balance=0)
    end = datetime(2027, 3, 10, 12, tzinfo=timezone.utc)
    sold(owner, 301, paid_until=end, attention="provisioning run 1 failed at network")
    with at(end + 30 * DAY):
        report = cycle.run_cycle()
    assert report.suspended == [] and report.terminated == []
    assert reload(Server, 301).lifecycle_state == LifecycleState.ACTIVE


def test_a_period_long_past_is_renewed_from_now_once(app, proxmox, sold):
    owner = make_user(balance=1000)
    end = datetime(2027, 3, 10, 12, tzinfo=timezone.utc)
    sold(owner, 301, paid_until=end)
    later = end + 45 * DAY  # the scheduler was down for weeks
    with at(later):
        assert cycle.run_cycle().renewed == [301]
        assert cycle.run_cycle().renewed == []
    assert reload(Server, 301).paid_until == later + timedelta(days=app.config["RENTAL_DAYS"])
    assert reload(User, owner.id).balance == Decimal(760)


def test_a_start_queued_before_the_suspension_does_not_outlive_it(app, proxmox, sold, work):
    from oxnack_admin.services.fleet import power

    owner = make_user(balance=0)
    end = datetime(2027, 3, 10, 12, tzinfo=timezone.utc)
    server = sold(owner, 301, paid_until=end, status="off")
    with at(end - timedelta(minutes=1)):
        power.request_power_action(server, "start", requested_by="customer")  # holds the VM lock, queued
    with at(end + timedelta(minutes=1)):
        assert cycle.run_cycle().suspended == [301]
        work()
    assert proxmox.vm(301).status == "stopped" and reload(Server, 301).status == "off"


def test_a_suspended_vm_found_running_is_stopped_again(app, proxmox, sold, work):
    owner = make_user(balance=0)
    end = datetime(2027, 3, 10, 12, tzinfo=timezone.utc)
    sold(owner, 301, paid_until=end)
    with at(end + timedelta(minutes=1)):
        cycle.run_cycle()
        work()
    assert proxmox.vm(301).status == "stopped"
    db.session.execute(Server.__table__.update().values(status="on"))  # e.g. started by hand on the node
    db.session.commit()
    proxmox.add_vm(301, status="running")
    with at(end + timedelta(minutes=10)):
        assert cycle.run_cycle().stops_requeued == []  # the first stop job still has time
    with at(end + timedelta(hours=1)):
        assert cycle.run_cycle().stops_requeued == [301]
        work()
    assert proxmox.vm(301).status == "stopped" and reload(Server, 301).status == "off"
