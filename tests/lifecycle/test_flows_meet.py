"""Where two flows meet on one server (issue 17): each test interleaves two of them and failed before
the state machine (services/fleet/states.py)."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import MailMessage, ProvisioningRun, Server, ServerWipe, Transaction, User
from oxnack_admin.models.enums import LifecycleState, RunState, SuspendReason, TransactionType
from oxnack_admin.services.accounts import admin as customers_admin
from oxnack_admin.services.fleet import states
from oxnack_admin.services.lifecycle import admin as lifecycle_admin, cycle, renewal, termination
from tests.jobs.support import place, reload_run
from tests.lifecycle.conftest import assert_every_ledger_consistent, reload
from tests.support.customers import login_cookie
from tests.support.factories import make_server, make_staff, make_user

PRICE = Decimal(240)  # 2 cores, 2 GB, 20 GB at the default prices


def renewal_rows(user_id: int | None = None) -> list[Transaction]:
    query = select(Transaction).where(Transaction.type == TransactionType.RENEWAL)
    if user_id is not None:
        query = query.where(Transaction.user_id == user_id)
    return list(db.session.scalars(query.order_by(Transaction.id)))


# --- 1. renewing twice pays twice ------------------------------------------------------------------

def test_renewing_a_suspended_server_twice_pays_once(app, client, proxmox, sold, work):
    owner = make_user(balance=10)
    end = datetime(2027, 5, 1, 12, tzinfo=timezone.utc)
    sold(owner, 301, paid_until=end)
    with time_machine.travel(end + timedelta(hours=1), tick=False):
        assert cycle.run_cycle().suspended == [301]
    customers_admin.adjust_balance(reload(User, owner.id), Decimal(1000), "goodwill", make_staff())
    db.session.commit()
    with time_machine.travel(end + timedelta(days=2), tick=False):
        login_cookie(client, reload(User, owner.id))
        first = client.post("/renew_server", json={"server_id": 301})
        second = client.post("/renew_server", json={"server_id": 301})
    assert first.status_code == 200
    assert second.status_code == 409 and second.get_json() == {"status": "error", "message": "already renewed"}
    assert [row.amount for row in renewal_rows()] == [-PRICE]
    assert_every_ledger_consistent()


def test_a_click_after_the_auto_renewal_at_expiry_pays_nothing_more(app, client, proxmox, sold):
    owner = make_user(balance=1000)
    end = datetime(2027, 5, 1, 12, tzinfo=timezone.utc)
    sold(owner, 301, paid_until=end)
    with time_machine.travel(end + timedelta(minutes=5), tick=False):
        assert cycle.run_cycle().renewed == [301]
    with time_machine.travel(end + timedelta(hours=3), tick=False):
        login_cookie(client, reload(User, owner.id))
        click = client.post("/renew_server", json={"server_id": 301})
    assert click.status_code == 409 and click.get_json()["message"] == "already renewed"
    assert len(renewal_rows()) == 1
    assert reload(Server, 301).paid_until == end + timedelta(days=app.config["RENTAL_DAYS"])


def test_a_renewal_never_shortens_the_period_of_a_suspended_server_with_days_left(app, proxmox, sold):
    owner = make_user(balance=1000)
    end = datetime.now(timezone.utc) + timedelta(days=20)
    sold(owner, 301, paid_until=end)
    staff = make_staff()
    lifecycle_admin.suspend_now(301, staff)
    db.session.commit()
    lifecycle_admin.renew_by_hand(301, staff, charge=True)
    db.session.commit()
    server = reload(Server, 301)
    assert server.paid_until == end + timedelta(days=app.config["RENTAL_DAYS"])  # the 20 paid days kept
    assert server.lifecycle_state == LifecycleState.ACTIVE and server.suspend_reason is None


# --- 2. "terminate now" during provisioning ------------------------------------------------------

def test_terminate_now_is_refused_while_the_server_is_being_provisioned(app, proxmox, pfsense, smtp, pool, work):
    pool(1)
    owner = make_user("buyer@example.com", balance=500)
    placed = place(owner)
    assert reload(Server, 301).lifecycle_state == LifecycleState.PROVISIONING
    with pytest.raises(lifecycle_admin.LifecycleActionError, match="provisioning"):
        lifecycle_admin.terminate_now(301, make_staff())
    db.session.rollback()
    work()
    assert reload_run(placed.run.id).state == RunState.DONE
    assert reload(Server, 301).lifecycle_state == LifecycleState.ACTIVE
    assert db.session.scalars(select(ServerWipe)).all() == []


def test_a_provisioning_step_never_touches_a_server_taken_from_its_customer(app, proxmox, pfsense, smtp, pool, work):
    """Whatever took the server (a termination that got in first, a staff edit), the late run stands down."""
    pool(1)
    owner = make_user("former@example.com", balance=500)
    placed = place(owner)
    server = db.session.get(Server, 301)
    server.username, server.lifecycle_state = None, LifecycleState.WIPING  # taken before the job ran
    db.session.commit()
    work("provisioning")
    run = reload_run(placed.run.id)
    assert run.state == RunState.FAILED and "no longer being provisioned" in run.error
    assert run.refund_transaction_id is not None  # paid for nothing: refunded
    assert reload(User, owner.id).balance == Decimal(500)
    assert proxmox.vm(301).status == "stopped" and pfsense.nat_mappings == []
    assert reload(Server, 301).lifecycle_state == LifecycleState.WIPING and reload(Server, 301).attention is None
    mails = db.session.scalars(select(MailMessage)).all()
    assert [m.kind for m in mails] == ["provisioning_failed"]  # no password, only the refund notice
    assert_every_ledger_consistent()


# --- 3. a staff suspension lifted by the customer -------------------------------------------------

def test_a_staff_hold_is_lifted_by_staff_only(app, client, proxmox, sold, work):
    owner = make_user(balance=1000)
    end = datetime.now(timezone.utc) + timedelta(days=20)
    sold(owner, 301, paid_until=end)
    staff = make_staff()
    lifecycle_admin.suspend_now(301, staff)
    db.session.commit()
    assert reload(Server, 301).suspend_reason == SuspendReason.STAFF

    login_cookie(client, reload(User, owner.id))
    renew = client.post("/renew_server", json={"server_id": 301})
    assert renew.status_code == 403 and renew.get_json() == {"status": "error", "message": "server suspended"}
    customers_admin.adjust_balance(reload(User, owner.id), Decimal(500), "top-up by hand", staff)
    db.session.commit()
    work()  # the credit's resume job
    server = reload(Server, 301)
    assert server.lifecycle_state == LifecycleState.SUSPENDED and server.paid_until == end
    assert renewal_rows() == []
    # Past the grace days the cycle leaves a staff hold alone: staff decide.
    with time_machine.travel(end + timedelta(days=app.config["SUSPEND_GRACE_DAYS"] + 1), tick=False):
        assert cycle.run_cycle().terminated == []
    lifecycle_admin.unsuspend(301, staff)
    db.session.commit()
    assert reload(Server, 301).lifecycle_state == LifecycleState.ACTIVE
    assert_every_ledger_consistent()


def test_staff_turn_a_suspension_for_non_payment_into_a_hold(app, proxmox, sold):
    owner = make_user(balance=0)
    end = datetime.now(timezone.utc) - timedelta(hours=1)
    sold(owner, 301, paid_until=end)
    assert cycle.run_cycle().suspended == [301]
    assert reload(Server, 301).suspend_reason == SuspendReason.UNPAID
    lifecycle_admin.suspend_now(301, make_staff())
    db.session.commit()
    assert reload(Server, 301).suspend_reason == SuspendReason.STAFF
    with pytest.raises(states.TransitionRefused, match="held by staff"):
        renewal.renew(renewal.lock_server(301), reload(User, owner.id), actor=states.Actor.SYSTEM)
    db.session.rollback()


# --- 4. a server that runs free for ever -----------------------------------------------------------

def test_a_period_end_moved_back_is_charged_again_not_passed_off_as_renewed(app, proxmox, sold):
    owner = make_user(balance=1000)
    end = datetime(2027, 5, 1, 12, tzinfo=timezone.utc)
    sold(owner, 301, paid_until=end)
    with time_machine.travel(end + timedelta(minutes=5), tick=False):
        assert cycle.run_cycle().renewed == [301]
    with time_machine.travel(end + timedelta(days=2), tick=False):
        lifecycle_admin.change_period_end(301, make_staff(), end)  # staff move it back to the renewed value
        db.session.commit()
        assert cycle.run_cycle().renewed == [301]
        assert reload(Server, 301).paid_until > datetime.now(timezone.utc)
    assert len(renewal_rows()) == 2
    assert reload(User, owner.id).balance == Decimal(1000) - 2 * PRICE


def test_a_renewal_key_taken_by_an_earlier_renewal_is_numbered_on(app, proxmox, sold):
    owner = make_user(balance=1000)
    end = datetime(2027, 5, 1, 12, tzinfo=timezone.utc)
    server = sold(owner, 301, paid_until=end)
    db.session.add(Transaction(user_id=owner.id, amount=Decimal(0), type=TransactionType.RENEWAL,
                               status="CONFIRMED", idempotency_key=renewal.renewal_key(server),
                               username=owner.username, discription="written by hand"))
    db.session.commit()
    with time_machine.travel(end + timedelta(minutes=5), tick=False):
        assert cycle.run_cycle().renewed == [301]
    assert [row.amount for row in renewal_rows()] == [Decimal(0), -PRICE]
    assert reload(Server, 301).paid_until == end + timedelta(days=app.config["RENTAL_DAYS"])


# --- 7. adopted servers without dates, NULL usernames ---------------------------------------------

def test_renew_server_on_an_adopted_server_without_dates(app, client, proxmox):
    owner = make_user(balance=1000)
    make_server(301, busy=True, username=owner.username, cores=2, ram=2, hdd=20)  # the old system's row
    login_cookie(client, owner)
    answer = client.post("/renew_server", json={"server_id": 301})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert reload(Server, 301).paid_until is not None and len(renewal_rows()) == 1


def test_a_null_username_owns_nothing(app, client, proxmox):
    owner = make_user(balance=1000)
    server = make_server(301, busy=True, username=None, cores=2, ram=2, hdd=20)
    nameless = db.session.get(User, owner.id)
    nameless.username = None
    db.session.commit()
    assert not renewal.owned_by(server, nameless)
    with pytest.raises(renewal.RenewalRefused):
        renewal.renew_for_customer(nameless, 301)
    with pytest.raises(renewal.RenewalRefused):
        renewal.set_auto_renew(nameless, 301, False)
    assert renewal_rows() == []


# --- 9. stuck wipes ------------------------------------------------------------------------------

def test_a_stuck_wipe_is_queued_again_once_per_stuck_period(app, proxmox, sold):
    owner = make_user(balance=0)
    sold(owner, 301)
    lifecycle_admin.release_server(301, make_staff())
    db.session.commit()
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(hours=2), tick=False):
        assert len(termination.resume_stuck_wipes()) == 1
        assert termination.resume_stuck_wipes() == []  # touched: the job queued a moment ago gets its time


# --- the table itself --------------------------------------------------------------------------------

def test_every_state_and_event_has_an_answer():
    """Each (state, event) pair either moves somewhere or is refused with a status for the customer."""
    server = Server(id=1, busy=True)
    for state in [states.POOL, *states.LifecycleState]:
        server.lifecycle_state, server.busy = (None, False) if state == states.POOL else (state, True)
        for event in states.Event:
            for actor in states.Actor:
                try:
                    assert states.check(server, event, actor) in [states.POOL, *states.LifecycleState]
                except states.TransitionRefused as refused:
                    assert refused.status in (403, 404, 409) and refused.message and str(refused)


def test_a_provisioning_run_in_flight_matches_its_servers_state(app, proxmox, pfsense, smtp, pool, work):
    pool(2)
    owner = make_user(balance=1000)
    place(owner)
    place(owner)
    for run in db.session.scalars(select(ProvisioningRun)):
        assert db.session.get(Server, run.server_id).lifecycle_state == LifecycleState.PROVISIONING
    work()
    assert {s.lifecycle_state for s in db.session.scalars(select(Server))} == {LifecycleState.ACTIVE}
