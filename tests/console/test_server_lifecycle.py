"""The rental on the console: upcoming expiries, the server's lifecycle panel, staff actions (CSRF, role, audit)."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import time_machine
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, Server, ServerWipe, Transaction, User
from oxnack_admin.models.enums import LifecycleState, RunState, TransactionType
from tests.console.conftest import HTMX, sign_in
from tests.support.factories import make_server, make_staff, make_user


def rented(owner, vmid=701, days=3, **columns):
    columns.setdefault("lifecycle_state", LifecycleState.ACTIVE)
    return make_server(vmid, busy=True, username=owner.username, cores=2, ram=2, hdd=20, status="on",
                       paid_until=datetime.now(timezone.utc) + timedelta(days=days), **columns)


def actions():
    return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def reloaded(vmid):
    db.session.expire_all()
    return db.session.get(Server, vmid)


def test_the_dashboard_lists_rentals_ending_within_seven_days(app, client, as_role):
    as_role("support")
    owner = make_user("soon@example.com", balance=0)
    rented(owner, 701, days=2)
    rented(owner, 702, days=20)
    page = client.get("/console/").get_data(as_text=True)
    assert "Rentals ending in the next 7 days" in page and "/console/servers/701" in page
    assert "/console/servers/702" not in page and "balance too small" in page


def test_the_server_page_shows_state_and_history_and_support_gets_no_buttons(app, client, as_role):
    owner = make_user("owner@example.com", balance=1000)
    rented(owner)
    as_role("admin")
    assert client.post("/console/servers/701/renew", data={"charge": "1"}, headers=HTMX).status_code == 200
    as_role("support")
    page = client.get("/console/servers/701").get_data(as_text=True)
    assert "Rental" in page and "renewed" in page and "active" in page
    assert "Renew free" not in page
    assert client.post("/console/servers/701/suspend", headers=HTMX).status_code == 403


def test_renew_charged_and_free_are_audited_and_the_ledger_holds(app, client, as_role):
    admin = as_role("admin")
    owner = make_user("owner@example.com", balance=300)
    server = rented(owner)
    before = server.paid_until
    charged = client.post("/console/servers/701/renew", data={"charge": "1"}, headers=HTMX)
    assert charged.status_code == 200 and "charged to the owner" in charged.headers["HX-Trigger"]
    assert 'id="server-detail"' in charged.get_data(as_text=True)
    repeat = client.post("/console/servers/701/renew", data={"charge": "1"}, headers=HTMX)  # a double submit
    assert repeat.status_code == 409 and "renewed less than 24 h ago" in repeat.headers["HX-Trigger"]
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(days=1, hours=1)):
        refused = client.post("/console/servers/701/renew", data={"charge": "1"}, headers=HTMX)
        assert refused.status_code == 409 and "does not cover" in refused.headers["HX-Trigger"]
    free = client.post("/console/servers/701/renew", data={"charge": "0"}, headers=HTMX)
    assert free.status_code == 200 and "free of charge" in free.headers["HX-Trigger"]
    assert reloaded(701).paid_until == before + timedelta(days=2 * app.config["RENTAL_DAYS"])
    [row] = db.session.scalars(select(Transaction).where(Transaction.type == TransactionType.RENEWAL)).all()
    assert row.amount == Decimal(-240) and row.staff_id == admin.id
    assert actions() == ["server.renew", "server.renew_free"]
    db.session.expire_all()
    user = db.session.get(User, owner.id)
    assert user.balance == Decimal(60) == sum(t.amount for t in db.session.scalars(
        select(Transaction).where(Transaction.user_id == owner.id)))


def test_suspend_unsuspend_period_end_and_terminate(app, client, as_role, proxmox, pfsense, work):
    as_role("admin")
    owner = make_user("owner@example.com", balance=0)
    rented(owner)
    proxmox.add_vm(701, status="running")
    proxmox.add_template(app.config["OS_TEMPLATES"]["ubuntu"]["template_vmid"])

    assert client.post("/console/servers/701/suspend", headers=HTMX).status_code == 200
    work()
    assert reloaded(701).lifecycle_state == LifecycleState.SUSPENDED and proxmox.vm(701).status == "stopped"
    assert client.post("/console/servers/701/suspend", headers=HTMX).status_code == 409
    assert client.post("/console/servers/701/unsuspend", headers=HTMX).status_code == 200
    work()
    assert reloaded(701).lifecycle_state == LifecycleState.ACTIVE and proxmox.vm(701).status == "running"

    bad = client.post("/console/servers/701/period-end", data={"period_end": "soon"}, headers=HTMX)
    assert bad.status_code == 400
    moved = client.post("/console/servers/701/period-end", data={"period_end": "2031-05-04T10:30"}, headers=HTMX)
    assert moved.status_code == 200
    assert reloaded(701).paid_until == datetime(2031, 5, 4, 10, 30, tzinfo=timezone.utc)

    assert client.post("/console/servers/701/terminate", headers=HTMX).status_code == 200
    assert reloaded(701).lifecycle_state == LifecycleState.WIPING
    assert client.post("/console/servers/701/terminate", headers=HTMX).status_code == 409
    work()
    assert reloaded(701).is_free and proxmox.files(701) != {} and "lock" not in proxmox.vm(701).config
    staff_actions = [a for a in actions() if not a.startswith("server.power.")]
    assert staff_actions[:4] == ["server.suspend", "server.unsuspend", "server.period_end", "server.terminate"]


def test_retry_a_failed_wipe_from_the_console(app, client, as_role, proxmox, pfsense, work):
    as_role("admin")
    owner = make_user("owner@example.com")
    rented(owner)
    proxmox.add_vm(701, status="stopped")
    proxmox.add_template(app.config["OS_TEMPLATES"]["ubuntu"]["template_vmid"])
    proxmox.fail_task_next("qmclone")
    client.post("/console/servers/701/terminate", headers=HTMX)
    work()
    wipe = db.session.scalars(select(ServerWipe)).one()
    db.session.refresh(wipe)
    assert wipe.state == RunState.FAILED
    page = client.get("/console/servers/701").get_data(as_text=True)
    assert "Retry wipe" in page and "needs attention" in page
    response = client.post(f"/console/servers/wipes/{wipe.id}/retry", headers=HTMX)
    assert response.status_code == 200 and "queued again" in response.headers["HX-Trigger"]
    work()
    assert reloaded(701).is_free
    assert client.post(f"/console/servers/wipes/{wipe.id}/retry", headers=HTMX).status_code == 409
    assert client.post("/console/servers/wipes/9999/retry", headers=HTMX).status_code == 404


def test_lifecycle_actions_need_csrf(app_with, as_role):
    strict = app_with(WTF_CSRF_ENABLED=True)
    owner = make_user()
    rented(owner)
    client = strict.test_client()
    client.send_csrf = False  # what a forged cross-site post would send
    sign_in(client, make_staff("admin"))
    response = client.post("/console/servers/701/suspend", headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert reloaded(701).lifecycle_state == LifecycleState.ACTIVE


def test_staff_turn_an_unpaid_suspension_into_a_hold_from_the_page(app, client, as_role):
    as_role("admin")
    owner = make_user("late@example.com", balance=0)
    rented(owner, days=-1, lifecycle_state=LifecycleState.SUSPENDED, suspend_reason="unpaid")
    page = client.get("/console/servers/701").get_data(as_text=True)
    assert "not paid: a renewal or a top-up lifts it" in page and "Hold (staff suspension)" in page
    assert client.post("/console/servers/701/suspend", headers=HTMX).status_code == 200
    assert reloaded(701).suspend_reason == "staff"
    page = client.get("/console/servers/701").get_data(as_text=True)
    assert "held by staff" in page and "Hold (staff suspension)" not in page and "Terminated on" not in page
    again = client.post("/console/servers/701/suspend", headers=HTMX)
    assert again.status_code == 409 and "suspended by staff already" in again.headers["HX-Trigger"]
