"""A period that ends during a reinstall, at the service level: renewal is refused and the billing cycle
skips the server while it reinstalls, then renews (or suspends) it once the reinstall is done; the
reinstall itself charges nothing. Also the console's labels for a reinstall's steps."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import Server, Transaction, User
from oxnack_admin.models.enums import REINSTALL_STEPS, STEPS_OF_KIND, LifecycleState, TransactionType
from oxnack_admin.services.fleet import pool
from oxnack_admin.services.lifecycle import cycle, renewal
from oxnack_admin.services.money import ledger
from oxnack_admin.services.provisioning import reinstall
from tests.lifecycle.conftest import assert_every_ledger_consistent


def reload(model, key):
    db.session.expire_all()
    return db.session.get(model, key)


def renewals_of(user_id: int) -> list[Transaction]:
    return db.session.scalars(select(Transaction).where(Transaction.user_id == user_id,
                                                        Transaction.type == TransactionType.RENEWAL)).all()


def start_reinstall_after_the_period_ended(owner: User, balance: Decimal) -> datetime:
    """The owner's server 301 ran out an hour ago and its reinstall has started; returns the old period end."""
    server = reload(Server, 301)
    server.paid_until = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    ledger.move_money(owner.id, balance - reload(User, owner.id).balance, TransactionType.ADJUSTMENT, "test balance")
    db.session.commit()
    reinstall.request_reinstall(301, reload(User, owner.id), "debian")
    db.session.commit()
    return server.paid_until


@pytest.mark.parametrize("rich", [True, False], ids=["balance covers it", "balance too small"])
def test_the_cycle_skips_a_reinstall_then_renews_or_suspends(app, owner, rented, work, rich):
    price = renewal.renewal_price(reload(Server, 301))
    balance = price * 2 if rich else Decimal(0)
    old_end = start_reinstall_after_the_period_ended(owner, balance)

    report = cycle.run_cycle()
    db.session.commit()
    server = reload(Server, 301)
    assert 301 not in report.renewed + report.suspended
    assert server.lifecycle_state == LifecycleState.REINSTALLING and server.paid_until == old_end
    with pytest.raises(renewal.RenewalRefused) as refused:  # the customer's own renewal waits too
        renewal.renew_for_customer(reload(User, owner.id), 301)
    assert (refused.value.status, refused.value.message) == (409, "server busy")
    assert renewals_of(owner.id) == [] and reload(User, owner.id).balance == balance

    assert work("provisioning")
    assert reload(Server, 301).lifecycle_state == LifecycleState.ACTIVE
    assert reload(User, owner.id).balance == balance  # a reinstall charges nothing

    report = cycle.run_cycle()
    db.session.commit()
    server, user = reload(Server, 301), reload(User, owner.id)
    if rich:
        assert report.renewed == [301] and report.suspended == []
        assert server.lifecycle_state == LifecycleState.ACTIVE
        assert server.paid_until == old_end + timedelta(days=app.config["RENTAL_DAYS"])
        assert [row.amount for row in renewals_of(owner.id)] == [-price] and user.balance == balance - price
    else:
        assert report.suspended == [301] and report.renewed == []
        assert server.lifecycle_state == LifecycleState.SUSPENDED and server.paid_until == old_end
        assert renewals_of(owner.id) == [] and user.balance == 0
    # A second pass changes nothing more.
    again = cycle.run_cycle()
    db.session.commit()
    assert 301 not in again.renewed + again.suspended
    assert_every_ledger_consistent()


def test_every_step_of_every_run_kind_has_a_console_label(app):
    for steps in STEPS_OF_KIND.values():
        for step in steps:
            assert step in pool.STEP_LABELS and pool.STEP_LABELS[step] != step


def test_a_reinstall_run_shows_its_steps_by_label(app, owner, rented):
    run = reinstall.request_reinstall(301, reload(User, owner.id), "debian")
    db.session.commit()
    view = pool.run_view(run)
    assert [step.name for step in view.steps] == list(REINSTALL_STEPS)
    assert [step.label for step in view.steps][:3] == ["Stop VM", "Destroy the old disk", "Clone the OS template"]
