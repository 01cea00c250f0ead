"""A top-up through the gateway renews and restarts the payer's suspended server at once."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import time_machine

from oxnack_admin.extensions import db
from oxnack_admin.models import Invoice, Server, User
from oxnack_admin.models.enums import LifecycleState
from oxnack_admin.services.lifecycle import cycle
from tests.lifecycle.conftest import assert_every_ledger_consistent, reload
from tests.payments.conftest import pay_config, platega  # noqa: F401  (fixtures: a loopback Platega)
from tests.support.customers import login_cookie
from tests.support.factories import make_user


def test_a_confirmed_top_up_resumes_the_suspended_server(app, client, proxmox, sold, work, platega):
    owner = make_user("suspended@example.com", balance=10)
    owner_id = owner.id
    end = datetime(2027, 5, 1, 12, tzinfo=timezone.utc)
    sold(owner, 301, paid_until=end)
    with time_machine.travel(end + timedelta(hours=1), tick=False):
        assert cycle.run_cycle().suspended == [301]
        work()
    assert reload(Server, 301).lifecycle_state == LifecycleState.SUSPENDED
    assert proxmox.vm(301).status == "stopped"

    paid_at = end + timedelta(days=2)
    with time_machine.travel(paid_at, tick=False):
        login_cookie(client, reload(User, owner_id))
        answer = client.post("/create_invoice", json={"amount": 300})
        assert answer.status_code == 201, answer.get_data(as_text=True)
        invoice = db.session.query(Invoice).filter_by(gateway_id=answer.json["transaction_id"]).one()
        db.session.remove()  # the callback is another request: this test's session holds nothing meanwhile
        (sent,) = platega.confirm(invoice.gateway_id)  # the callback reaches the app over HTTP
        assert sent.status_code == 200
        work()
    server = reload(Server, 301)
    assert server.lifecycle_state == LifecycleState.ACTIVE and server.status == "on"
    assert proxmox.vm(301).status == "running"
    assert server.paid_until == paid_at + timedelta(days=app.config["RENTAL_DAYS"])
    price = 2 * app.config["PR_CORE"] + 2 * app.config["PR_RAM"] + 20 * app.config["PR_HDD"]
    assert reload(User, owner_id).balance == Decimal(10 + 300) - price
    assert_every_ledger_consistent()
