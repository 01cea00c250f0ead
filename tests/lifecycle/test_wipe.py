"""Termination and staff release wipe the VM: destroy + full clone on the simulated node, pfSense cleaned,
a resold VM carries nothing of the previous owner; a failed clone flags the server until a retry succeeds."""
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, Server, ServerWipe
from oxnack_admin.models.enums import LifecycleState, RunState
from oxnack_admin.services.lifecycle.admin import ReleaseRefused, release_server
from oxnack_admin.services.lifecycle import admin as lifecycle_admin, cycle, termination
from oxnack_admin.services.orders.placement import claim_pool_vm
from tests.jobs.support import place, reload_run
from tests.lifecycle.conftest import TEMPLATE_FILES, assert_every_ledger_consistent, reload
from tests.support.factories import make_staff, make_user

MARKER = {"/root/.ssh/authorized_keys": "ssh-ed25519 AAAA previous-owner", "/root/secret.txt": "previous owner"}


def sell_and_provision(pool, work, owner):
    pool(1)
    placed = place(owner)
    work()
    assert reload_run(placed.run.id).state == RunState.DONE
    return reload(Server, 301)


def write_marker(proxmox, vmid: int = 301) -> None:
    for path, content in MARKER.items():
        proxmox.write_file(vmid, path, content)


def assert_wiped(app, proxmox, pfsense, vmid: int = 301) -> None:
    destroys = proxmox.calls_to("DELETE", rf"/qemu/{vmid}$")
    assert len(destroys) == 1
    assert destroys[0].params["purge"] == "1" and destroys[0].params["destroy-unreferenced-disks"] == "1"
    template = app.config["OS_TEMPLATES"]["ubuntu"]["template_vmid"]
    clone = proxmox.calls_to("POST", rf"/qemu/{template}/clone$")[-1]
    assert clone.params["newid"] == str(vmid) and clone.params["full"] == "1"
    assert clone.params["storage"] == app.config["PROXMOX_STORAGE"] and clone.params["name"]
    assert proxmox.files(vmid) == TEMPLATE_FILES  # the template's disk, nothing of the owner
    assert "lock" not in proxmox.vm(vmid).config and proxmox.vm(vmid).status == "stopped"
    assert pfsense.static_mappings == [] and pfsense.nat_mappings == []
    assert not [r for r in pfsense.rules if r["descr"].startswith("oxnack")]
    server = reload(Server, vmid)
    assert server.is_free and server.username is None and server.passwd is None and server.network_refs is None
    assert server.lifecycle_state is None and server.paid_until is None and server.status == "off"


def test_termination_after_the_grace_days_wipes_and_the_next_customer_gets_a_clean_vm(
        app, proxmox, pfsense, smtp, pool, work):
    owner = make_user("first@example.com", balance=500)
    server = sell_and_provision(pool, work, owner)
    write_marker(proxmox)
    end = server.paid_until
    grace = timedelta(days=app.config["SUSPEND_GRACE_DAYS"])
    with time_machine.travel(end + timedelta(minutes=1), tick=False):
        # 500 - order 240 leaves 260: renewed once; the next period end finds 20, so it is suspended.
        assert cycle.run_cycle().renewed == [301]
    end = reload(Server, 301).paid_until
    with time_machine.travel(end + timedelta(minutes=1), tick=False):
        assert cycle.run_cycle().suspended == [301]
        work()
    assert proxmox.vm(301).status == "stopped"
    with time_machine.travel(end + grace - timedelta(minutes=1), tick=False):
        assert cycle.run_cycle().terminated == []
    with time_machine.travel(end + grace + timedelta(minutes=1), tick=False):
        assert cycle.run_cycle().terminated == [301]
        assert cycle.run_cycle().terminated == []
        middle = reload(Server, 301)
        assert middle.busy and middle.username is None and middle.lifecycle_state == LifecycleState.WIPING
        assert claim_pool_vm("ubuntu") is None  # out of the pool until the wipe is done
        db.session.rollback()
        work()
    assert_wiped(app, proxmox, pfsense)
    assert any("удалён" in m["Subject"] for m in smtp.messages if m["To"] == "first@example.com")

    second = make_user("second@example.com", balance=500)
    again = place(second)
    work()
    assert reload_run(again.run.id).state == RunState.DONE
    files = proxmox.files(301)
    assert not set(MARKER) & set(files) and "previous owner" not in " ".join(files.values())
    assert reload(Server, 301).username == second.username
    assert_every_ledger_consistent()


def test_a_clone_failure_mid_wipe_flags_the_server_and_a_retry_finishes_it(app, proxmox, pfsense, smtp, pool, work):
    owner = make_user(balance=500)
    sell_and_provision(pool, work, owner)
    write_marker(proxmox)
    staff = make_staff("admin")
    proxmox.fail_task_next("qmclone", "clone failed: storage 'local-lvm' is full")

    release_server(301, staff)
    db.session.commit()
    work()

    [wipe] = db.session.scalars(select(ServerWipe)).all()
    db.session.refresh(wipe)
    assert wipe.state == RunState.FAILED and wipe.steps_done == ["stop", "destroy"]
    assert "clone" in wipe.error and "storage" in wipe.error
    server = reload(Server, 301)
    assert server.attention and "wipe" in server.attention and not server.is_free
    assert claim_pool_vm("ubuntu") is None
    db.session.rollback()
    assert not proxmox.has_vm(301)  # PVE removes a failed clone
    with pytest.raises(ReleaseRefused, match="being wiped"):
        release_server(301, staff)
    db.session.rollback()

    lifecycle_admin.retry_wipe(wipe.id, staff)
    db.session.commit()
    work()
    assert reload(ServerWipe, wipe.id).state == RunState.DONE
    assert_wiped(app, proxmox, pfsense)
    assert len(proxmox.calls_to("POST", r"/clone$")) == 2
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert {"server.release", "server.wipe_failed", "server.wipe_retry", "server.wiped"} <= set(actions)
    assert_every_ledger_consistent()  # no money moved on the failed wipe


def test_every_staff_release_wipes_even_a_running_vm(app, proxmox, pfsense, smtp, pool, work):
    owner = make_user(balance=500)
    sell_and_provision(pool, work, owner)
    assert proxmox.vm(301).status == "running"
    write_marker(proxmox)

    release_server(301, make_staff("admin"))
    db.session.commit()
    assert reload(Server, 301).username is None  # the owner loses it at once
    work()

    assert_wiped(app, proxmox, pfsense)
    stop_index = next(i for i, c in enumerate(proxmox.calls) if c.path.endswith("/301/status/stop"))
    destroy_index = next(i for i, c in enumerate(proxmox.calls) if c.method == "DELETE")
    assert stop_index < destroy_index


def test_the_simulator_refuses_to_destroy_a_running_vm_and_holds_the_clone_lock(app, proxmox):
    from oxnack_admin.clients.errors import RemoteError
    from oxnack_admin.services.fleet import hypervisor

    proxmox.add_vm(301, status="running")
    client = hypervisor.proxmox_client()
    with pytest.raises(RemoteError, match="running - destroy failed"):
        client.destroy(301)
    proxmox.task_polls_before_done = 3
    template = app.config["OS_TEMPLATES"]["ubuntu"]["template_vmid"]
    upid = client._call("clone", lambda api: api.nodes(client.node).qemu(template).clone.post(
        newid=302, full=1, name="pool-ubuntu-302", storage="local-lvm"))
    assert client.get_config(302)["lock"] == "clone"
    with pytest.raises(RemoteError, match="already exists"):
        client.clone(template, 302, "again", "local-lvm")
    client.wait_task(upid)
    assert "lock" not in client.get_config(302) and proxmox.files(302) == TEMPLATE_FILES


def test_staff_terminate_now_is_audited_and_wipes(app, proxmox, pfsense, smtp, pool, work):
    owner = make_user("owner@example.com", balance=500)
    sell_and_provision(pool, work, owner)
    staff = make_staff("admin")
    lifecycle_admin.terminate_now(301, staff)
    db.session.commit()
    with pytest.raises(lifecycle_admin.LifecycleActionError):
        lifecycle_admin.terminate_now(301, staff)
    db.session.rollback()
    work()
    assert_wiped(app, proxmox, pfsense)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "server.terminate")).staff_id == staff.id
    assert termination.open_wipe(reload(Server, 301)) is None


def test_proxmox_down_through_every_retry_flags_the_wipe_and_the_sweep_leaves_it_to_staff(
        app, proxmox, pfsense, smtp, pool, work):
    owner = make_user(balance=500)
    sell_and_provision(pool, work, owner)
    proxmox.fail_next("DELETE", r"/qemu/301$", status=503, times=10)

    release_server(301, make_staff("admin"))
    db.session.commit()
    work()  # three attempts (PROVISIONING_RETRY_INTERVALS has two), each refused with 503

    wipe = db.session.scalars(select(ServerWipe)).one()
    db.session.refresh(wipe)
    assert wipe.state == RunState.FAILED and wipe.attempts == 3 and wipe.steps_done == ["stop"]
    assert "destroy" in wipe.error and reload(Server, 301).attention
    assert proxmox.has_vm(301) and not reload(Server, 301).is_free
    assert termination.resume_stuck_wipes(older_than_minutes=0) == []  # failed ones wait for staff
    assert_every_ledger_consistent()


def test_billing_cycle_command(app, runner, proxmox):
    result = runner.invoke(args=["billing-cycle"])
    assert result.exit_code == 0, result.output
    assert "billing cycle done" in result.output and "renewed: 0" in result.output


def test_a_server_whose_vmid_is_an_os_template_is_never_destroyed(app, proxmox, pfsense, work):
    template = app.config["OS_TEMPLATES"]["ubuntu"]["template_vmid"]
    owner = make_user()
    from tests.support.factories import make_server

    make_server(template, busy=True, username=owner.username)  # the legacy sample has such a row (105)
    release_server(template, make_staff("admin"))
    db.session.commit()
    work()
    assert proxmox.has_vm(template) and proxmox.calls_to("DELETE", r"/qemu/") == []
    assert "template" in reload(Server, template).attention
