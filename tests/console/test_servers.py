"""Servers: the pool listing, adding VMs (one and a range), editing, power, release, provisioning record."""
from sqlalchemy import select

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import AuditEvent, ProvisioningRun, Server
from oxnack_admin.models.enums import RunState
from oxnack_admin.services.fleet import vm_locks
from rq import Queue
from tests.console.conftest import HTMX, make_run
from tests.support.factories import make_server, make_user

VM = {"vmid": "900", "os": "ubuntu", "ips": "198.51.100.90, 198.51.100.91", "lan_ip": "192.168.2.90",
      "mac": "", "node": "", "country": ""}


def actions():
    return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_add_one_pool_vm(app, client, as_role):
    as_role("admin")
    response = client.post("/console/servers/new", data=VM, headers=HTMX)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/console/servers/900"
    server = db.session.get(Server, 900)
    assert server.ips == ["198.51.100.90", "198.51.100.91"] and server.lan_ip == "192.168.2.90"
    assert server.busy is False and server.hdd == app.config["MIN_HDD"] and server.country == "russia"
    assert actions() == ["server.add"]
    assert "added to the pool" in client.get("/console/servers/900").get_data(as_text=True)


def test_adding_a_vm_checks_every_field(app, client, as_role):
    as_role("admin")
    make_server(901, ips=["198.51.100.91"])
    cases = [({"vmid": "901"}, "already in the pool"), ({"vmid": "50"}, "Number must be between"),
             ({"ips": "300.1.1.1"}, "is not an IPv4 address"), ({"ips": "198.51.100.91"}, "already assigned to VM 901"),
             ({"os": "windows"}, "Not a valid choice"), ({"mac": "zz"}, "Six hex pairs")]
    for change, message in cases:
        response = client.post("/console/servers/new", data={**VM, "vmid": "902", **change}, headers=HTMX)
        assert response.status_code == 422 and message in response.get_data(as_text=True), change
    assert db.session.get(Server, 902) is None


def test_add_a_vmid_range_with_consecutive_addresses(app, client, as_role):
    as_role("admin")
    response = client.post("/console/servers/bulk", data={
        "first_vmid": "310", "last_vmid": "312", "os": "debian", "first_ip": "198.51.100.254",
        "first_lan_ip": "192.168.2.10", "node": "pve2", "country": "russia"}, headers=HTMX)
    assert response.status_code == 204
    servers = db.session.scalars(select(Server).order_by(Server.id)).all()
    assert [(s.id, s.ips, s.lan_ip, s.os, s.node) for s in servers] == [
        (310, ["198.51.100.254"], "192.168.2.10", "debian", "pve2"),
        (311, ["198.51.100.255"], "192.168.2.11", "debian", "pve2"),
        (312, ["198.51.101.0"], "192.168.2.12", "debian", "pve2")]
    event, = db.session.scalars(select(AuditEvent))
    assert event.action == "server.add_range" and event.target_id == "310-312" and event.after["count"] == 3


def test_a_range_is_all_or_nothing(app, client, as_role):
    as_role("admin")
    make_server(321)
    base = {"first_vmid": "320", "last_vmid": "322", "os": "ubuntu", "first_ip": "203.0.113.10", "first_lan_ip": "",
            "node": "", "country": ""}
    taken = client.post("/console/servers/bulk", data=base, headers=HTMX)
    assert taken.status_code == 422 and "VMIDs already in the pool: 321" in taken.get_data(as_text=True)
    backwards = client.post("/console/servers/bulk", data={**base, "first_vmid": "330", "last_vmid": "329"}, headers=HTMX)
    assert "comes before the first" in backwards.get_data(as_text=True)
    huge = client.post("/console/servers/bulk", data={**base, "first_vmid": "1000", "last_vmid": "1100"}, headers=HTMX)
    assert "At most 100" in huge.get_data(as_text=True)
    assert db.session.scalar(select(Server.id).where(Server.id != 321)) is None


def test_listing_filters(app, client, as_role):
    as_role("support")
    owner = make_user("owner@example.com")
    make_server(401)
    sold = make_server(402, busy=True, username=owner.username, status="on")
    failed = make_server(403, busy=True, username=owner.username)
    make_run(failed, owner)
    make_server(404, attention="disk missing")
    def shown(query):
        body = client.get(f"/console/servers?{query}", headers=HTMX).get_data(as_text=True)
        return {vmid for vmid in (401, 402, 403, 404) if f"/console/servers/{vmid}\"" in body}
    assert shown("state=pool") == {401}
    assert shown("state=sold") == {402, 403}
    assert shown("state=failed") == {403}
    assert shown("state=attention") == {404}
    assert shown("q=owner@example") == {402, 403}
    assert shown(f"q={sold.ips[0]}") == {402}
    assert "owner@example.com" in client.get("/console/servers?state=sold").get_data(as_text=True)


def test_edit_the_record(app, client, as_role):
    as_role("admin")
    server = make_server(501)
    data = {"os": "debian", "ips": "198.51.100.51", "lan_ip": "", "mac": "52:54:00:aa:bb:cc", "node": "pve",
            "country": "russia", "name": "", "attention": "fan noise, check first"}
    response = client.post("/console/servers/501/edit", data=data, headers=HTMX)
    assert response.status_code == 200 and "VM 501 saved" in response.headers["HX-Trigger"]
    db.session.expire_all()
    server = db.session.get(Server, 501)
    assert (server.os, server.ips, server.attention, server.mac) == ("debian", ["198.51.100.51"], "fan noise, check first", "52:54:00:aa:bb:cc")
    event, = db.session.scalars(select(AuditEvent))
    assert event.before["attention"] is None and event.after["attention"] == "fan noise, check first"
    server.busy = True
    db.session.commit()
    sold = client.post("/console/servers/501/edit", data={**data, "os": "ubuntu"}, headers=HTMX)
    assert sold.status_code == 422 and "cannot change" in sold.get_data(as_text=True)


def test_the_run_fragment_polls_until_the_run_is_final(app, client, as_role):
    as_role("support")
    owner = make_user("runs@example.com")
    server = make_server(601, busy=True, username=owner.username)
    running = make_run(server, owner, state=RunState.PENDING)
    body = client.get(f"/console/servers/runs/{running.id}", headers=HTMX).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in body and "<html" not in body
    running.state = RunState.DONE
    for step in running.steps:
        step.state = RunState.DONE
    db.session.commit()
    body = client.get(f"/console/servers/runs/{running.id}", headers=HTMX).get_data(as_text=True)
    assert "hx-trigger" not in body and 'data-state="done"' in body
    assert "<html" in client.get(f"/console/servers/runs/{running.id}").get_data(as_text=True)


def test_the_server_page_shows_each_step_and_its_error(app, client, as_role):
    as_role("support")
    owner = make_user("steps@example.com")
    server = make_server(602, busy=True, username=owner.username)
    make_run(server, owner, failed_step="network")
    body = client.get("/console/servers/602").get_data(as_text=True)
    assert 'data-step="configure_vm" data-state="done"' in body
    assert 'data-step="network" data-state="failed"' in body and "pfSense: connection refused" in body
    assert 'data-step="start_vm" data-state="pending"' in body
    assert "Retry from failed step" not in body  # support may look, not retry


def test_retry_a_failed_run_from_its_failed_step(app, client, as_role):
    staff = as_role("admin")
    owner = make_user("retry@example.com", balance=100)
    server = make_server(603, busy=True, username=owner.username)
    run = make_run(server, owner, failed_step="network")
    response = client.post(f"/console/servers/runs/{run.id}/retry", headers=HTMX)
    assert response.status_code == 200 and "queued again" in response.headers["HX-Trigger"]
    assert 'hx-trigger="every 1s"' in response.get_data(as_text=True)
    db.session.expire_all()
    run = db.session.get(ProvisioningRun, run.id)
    assert run.state == RunState.PENDING
    assert [s.state for s in run.steps] == ["done", "done", "pending", "pending", "pending"]
    queued = Queue("provisioning", connection=redis_client.connection).get_jobs()
    assert [job.args for job in queued] == [(run.id,)]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "provisioning.retry"))
    assert event.staff_id == staff.id and event.before["state"] == "failed"
    done = client.post(f"/console/servers/runs/{run.id}/retry", headers=HTMX)
    assert done.status_code == 200  # a pending run is only queued again
    run.state = RunState.DONE
    db.session.commit()
    refused = client.post(f"/console/servers/runs/{run.id}/retry", headers=HTMX)
    assert refused.status_code == 409 and "already done" in refused.headers["HX-Trigger"]


def test_power_actions_are_queued_under_the_vm_lock(app, client, as_role):
    staff = as_role("support")
    owner = make_user("power@example.com")
    make_server(604, busy=True, username=owner.username, status="on")
    response = client.post("/console/servers/604/power", data={"action": "restart"}, headers=HTMX)
    assert response.status_code == 204 and "Restart of VM 604 is queued" in response.headers["HX-Trigger"]
    job, = Queue("default", connection=redis_client.connection).get_jobs()
    assert job.args[:2] == (604, "restart") and job.args[3] == f"staff:{staff.email}"
    assert vm_locks.holder(604).startswith("power:restart")
    busy = client.post("/console/servers/604/power", data={"action": "stop"}, headers=HTMX)
    assert busy.status_code == 409 and "Another action is running" in busy.headers["HX-Trigger"]
    assert client.post("/console/servers/604/power", data={"action": "explode"}, headers=HTMX).status_code == 400
    assert actions() == ["server.power.restart"]


def test_release_a_sold_server_back_to_the_pool(app, client, as_role, proxmox, pfsense, work):
    as_role("admin")
    owner = make_user("leaving@example.com")
    proxmox.add_vm(605, status="running")
    proxmox.add_template(app.config["OS_TEMPLATES"]["ubuntu"]["template_vmid"])
    make_server(605, busy=True, username=owner.username, status="on", mac="52:54:00:00:06:05", name="605-x")
    response = client.post("/console/servers/605/release", headers=HTMX)
    assert response.status_code == 200 and "being wiped" in response.headers["HX-Trigger"]
    db.session.expire_all()
    assert db.session.get(Server, 605).username is None and not db.session.get(Server, 605).is_free
    work()
    db.session.expire_all()
    server = db.session.get(Server, 605)
    assert (server.busy, server.username, server.status, server.mac) == (False, None, "off", None)
    assert proxmox.vm(605).status == "stopped" and len(proxmox.calls_to("DELETE", r"/qemu/605$")) == 1
    assert actions()[0] == "server.release" and "server.wiped" in actions()


def test_release_is_refused_while_provisioning_runs(app, client, as_role):
    as_role("admin")
    owner = make_user("busy@example.com")
    server = make_server(606, busy=True, username=owner.username)
    make_run(server, owner, state=RunState.PENDING)
    response = client.post("/console/servers/606/release", headers=HTMX)
    assert response.status_code == 409 and "still being provisioned" in response.headers["HX-Trigger"]
    db.session.expire_all()
    assert db.session.get(Server, 606).busy is True
