"""/renew_server, /auto_renew, and what a suspended server looks like to the site (/user_services, power)."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import time_machine
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import Server, Transaction, User
from oxnack_admin.models.enums import LifecycleState, TransactionType
from oxnack_admin.services.lifecycle import cycle
from tests.lifecycle.conftest import assert_every_ledger_consistent, reload
from tests.support.customers import login_cookie
from tests.support.factories import make_user

PRICE = Decimal(240)


def renewals() -> list[Transaction]:
    return list(db.session.scalars(select(Transaction).where(Transaction.type == TransactionType.RENEWAL)))


def test_renew_server_extends_from_the_period_end_and_refuses_a_second_period(app, client, proxmox, sold):
    owner = make_user(balance=500)
    end = datetime.now(timezone.utc) + timedelta(days=2)
    sold(owner, 301, paid_until=end)
    login_cookie(client, owner)

    response = client.post("/renew_server", json={"server_id": 301})
    assert response.status_code == 200
    new_end = end + timedelta(days=app.config["RENTAL_DAYS"])
    assert response.get_json() == {"status": "success", "message": "renewed", "date_stop": new_end.date().isoformat()}
    assert reload(Server, 301).paid_until == new_end
    # A double click: the period is paid far ahead already, so nothing is charged twice.
    again = client.post("/renew_server", json={"server_id": "301"})
    assert again.status_code == 409 and again.get_json() == {"status": "error", "message": "already renewed"}
    assert [r.amount for r in renewals()] == [-PRICE]
    assert reload(User, owner.id).balance == Decimal(500) - PRICE
    services = client.get("/user_services").get_json()["services"]
    assert services[0]["date_stop"].replace(".", "-") in (new_end.date().isoformat(), new_end.strftime("%d-%m-%Y"))
    assert_every_ledger_consistent()


def test_renew_server_errors(app, client, proxmox, sold):
    owner = make_user(balance=100)
    other = make_user(balance=1000)
    sold(owner, 301)
    sold(other, 302)
    assert client.post("/renew_server", json={"server_id": 301}).get_json() == {"status": "error", "message": "unlogin"}
    login_cookie(client, owner)
    small = client.post("/renew_server", json={"server_id": 301})
    assert small.status_code == 402 and small.get_json() == {"status": "error", "message": "small balance"}
    for server_id in (302, 999):
        missing = client.post("/renew_server", json={"server_id": server_id})
        assert missing.status_code == 404 and missing.get_json() == {"status": "error", "message": "not found"}
    for body in ({}, {"server_id": True}, {"server_id": 1.5}, {"server_id": -1}, {"server_id": 2 ** 40}, []):
        bad = client.post("/renew_server", json=body)
        assert bad.status_code == 400 and bad.get_json()["status"] == "error"
    assert client.get("/renew_server").status_code == 405
    assert renewals() == [] and reload(User, owner.id).balance == Decimal(100)
    assert_every_ledger_consistent()


def test_renew_server_out_of_suspension_restarts_it(app, client, proxmox, sold, work):
    owner = make_user(balance=100)
    end = datetime.now(timezone.utc) - timedelta(hours=1)
    sold(owner, 301, paid_until=end)
    cycle.run_cycle()
    work()
    login_cookie(client, owner)
    assert client.get("/user_services").get_json()["services"][0]["status"] == "suspended"
    refused = client.post("/control_server", json={"server_id": 301, "action": "start"})
    assert refused.status_code == 403 and refused.get_json() == {"status": "error", "message": "server suspended"}
    assert proxmox.vm(301).status == "stopped"

    owner_row = reload(User, owner.id)
    from oxnack_admin.services.money import ledger
    ledger.move_money(owner_row.id, 200, TransactionType.ADJUSTMENT, "test top-up")
    db.session.commit()
    moment = datetime.now(timezone.utc)
    response = client.post("/renew_server", json={"server_id": 301})
    assert response.status_code == 200
    server = reload(Server, 301)
    assert server.lifecycle_state == LifecycleState.ACTIVE
    assert moment + timedelta(days=30) <= server.paid_until <= datetime.now(timezone.utc) + timedelta(days=30)
    work()
    assert proxmox.vm(301).status == "running"
    assert client.get("/user_services").get_json()["services"][0]["status"] == "on"
    assert client.post("/control_server", json={"server_id": 301, "action": "stop"}).status_code == 202
    assert_every_ledger_consistent()


def test_auto_renew_switch(app, client, proxmox, sold):
    owner = make_user(balance=1000)
    other = make_user()
    sold(owner, 301)
    sold(other, 302)
    assert client.post("/auto_renew", json={"server_id": 301, "enabled": False}).status_code == 401
    login_cookie(client, owner)
    off = client.post("/auto_renew", json={"server_id": 301, "enabled": False})
    assert off.status_code == 200 and off.get_json() == {"status": "success", "auto_renew": False}
    assert client.post("/auto_renew", json={"server_id": 301, "enabled": False}).get_json()["auto_renew"] is False
    assert reload(Server, 301).auto_renew is False
    missing = client.post("/auto_renew", json={"server_id": 302, "enabled": True})
    assert missing.status_code == 404 and missing.get_json() == {"status": "error", "message": "not found"}
    for body in ({"server_id": 301}, {"server_id": 301, "enabled": "yes"}, {"server_id": 301, "enabled": 1},
                 {"enabled": True}):
        assert client.post("/auto_renew", json=body).status_code == 400
    with time_machine.travel(reload(Server, 301).paid_until + timedelta(minutes=1), tick=False):
        assert 301 in cycle.run_cycle().suspended  # money enough, but the owner said no
    on = client.post("/auto_renew", json={"server_id": 301, "enabled": True})
    assert on.get_json() == {"status": "success", "auto_renew": True}
