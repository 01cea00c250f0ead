"""A crypto credit resumes a server suspended for non-payment, like any top-up."""
from datetime import datetime, timedelta, timezone

import time_machine

from oxnack_admin.models import Server, User
from oxnack_admin.models.enums import LifecycleState
from oxnack_admin.services.lifecycle import cycle
from tests.crypto.conftest import watch
from tests.lifecycle.conftest import assert_every_ledger_consistent, reload
from tests.support.customers import login_cookie
from tests.support.factories import make_user


def test_a_confirmed_crypto_credit_resumes_the_suspended_server(app, client, proxmox, sold, work, chain):
    owner = make_user("suspended-crypto@example.com", balance=10)
    owner_id = owner.id
    end = datetime.now(timezone.utc) - timedelta(days=1)
    sold(owner, 301, paid_until=end)
    with time_machine.travel(end + timedelta(hours=1), tick=False):
        assert cycle.run_cycle().suspended == [301]
        work()
    assert reload(Server, 301).lifecycle_state == LifecycleState.SUSPENDED

    login_cookie(client, reload(User, owner_id))
    answer = client.post("/create_crypto_invoice", json={"amount": 925, "asset": "USDT"})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    chain.pay_usdt(answer.json["address"], "10")
    chain.mine(2)
    assert watch().credited
    work()
    server = reload(Server, 301)
    assert server.lifecycle_state == LifecycleState.ACTIVE and server.status == "on"
    assert proxmox.vm(301).status == "running"
    assert_every_ledger_consistent()
