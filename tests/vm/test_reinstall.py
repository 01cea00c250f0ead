"""POST /reinstall_server: the wipe's destroy + clone, then the order's steps, as a resumable recorded run."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import ProvisioningRun, Server, Transaction, User
from oxnack_admin.models.enums import REINSTALL_STEPS, LifecycleState, RunKind, RunState
from oxnack_admin.services.fleet import power, vm_locks
from oxnack_admin.services.lifecycle import admin as lifecycle_admin, cycle
from oxnack_admin.services.provisioning import runs
from oxnack_admin.services.provisioning.steps import PASSWORD_ALPHABET
from tests.lifecycle.conftest import assert_every_ledger_consistent
from tests.support.factories import make_staff

DEBIAN_TEMPLATE = 200


def reinstall(client, server_id=301, os_name="debian"):
    return client.post("/reinstall_server", json={"server_id": server_id, "os": os_name})


def reload_server() -> Server:
    db.session.expire_all()
    return db.session.get(Server, 301)


def only_run() -> ProvisioningRun:
    db.session.expire_all()
    return db.session.scalars(select(ProvisioningRun).where(ProvisioningRun.kind == RunKind.REINSTALL)).one()


def service_status(client) -> str:
    return client.get("/user_services").get_json()["services"][0]["status"]


def test_reinstall_step_by_step(signed_in, owner, rented, proxmox, pfsense, smtp, work):
    before = (rented.paid_until, rented.rented_at, owner.balance)
    transactions = db.session.scalar(select(func.count(Transaction.id)))
    response = reinstall(signed_in)
    assert (response.status_code, response.get_json()) == (202, {"status": "success", "message": "reinstall started"})
    assert service_status(signed_in) == "reinstalling"

    work()
    run = only_run()
    assert run.state == RunState.DONE and [s.name for s in run.steps] == list(REINSTALL_STEPS)
    assert all(step.state == RunState.DONE for step in run.steps)
    # The calls in order: stop, destroy, full clone of the debian template onto 301, size, start.
    writes = [(c.method, c.path.split("/qemu/")[1]) for c in proxmox.calls
              if c.method in ("POST", "PUT", "DELETE") and "/qemu/" in c.path]
    assert writes == [("POST", "301/status/stop"), ("DELETE", "301"), ("POST", f"{DEBIAN_TEMPLATE}/clone"),
                      ("POST", "301/config"), ("PUT", "301/resize"), ("POST", "301/status/start")]
    clone = proxmox.calls_to("POST", rf"/qemu/{DEBIAN_TEMPLATE}/clone$")[0]
    assert clone.params["newid"] == "301" and clone.params["full"] == "1"
    vm = proxmox.vm(301)
    assert vm.status == "running" and vm.config["cores"] == 2 and vm.config["memory"] == "2048"
    assert "size=20G" in vm.config["scsi0"] and rented.mac in vm.config["net0"]
    assert "/root/customer-secret.txt" not in proxmox.files(301)
    # pfSense objects kept: found, none made again, none removed.
    assert not [c for c in pfsense.calls if c.method in ("POST", "DELETE") and "apply" not in c.path]
    server = reload_server()
    assert server.lifecycle_state == LifecycleState.ACTIVE and server.os == "debian" and server.attention is None
    assert server.network_refs == rented.network_refs and server.passwd is None
    assert (server.paid_until, server.rented_at) == before[:2]
    assert db.session.get(User, owner.id).balance == before[2]
    assert db.session.scalar(select(func.count(Transaction.id))) == transactions
    # The new root password, mailed as at order time, is the one Proxmox got.
    mailed = [m for m in smtp.messages if "переустановлен" in str(m["Subject"])]
    assert len(mailed) == 1
    password = next(line.split(": ", 1)[1] for line in mailed[0].get_content().splitlines()
                    if line.startswith("Новый пароль root"))
    assert password == vm.config["cipassword"] and password != "OldOwnerPw1"
    assert set(password) <= set(PASSWORD_ALPHABET)
    assert service_status(signed_in) == "on"
    assert_every_ledger_consistent()


def test_busy_server_is_409(signed_in, owner, rented, proxmox, work):
    assert reinstall(signed_in).status_code == 202
    again = reinstall(signed_in)
    assert (again.status_code, again.get_json()["message"]) == (409, "server busy")
    power_now = signed_in.post("/control_server", json={"server_id": 301, "action": "restart"})
    assert (power_now.status_code, power_now.get_json()["message"]) == (409, "server busy")
    renewed = signed_in.post("/renew_server", json={"server_id": 301})
    assert renewed.status_code == 409


def test_a_running_power_action_makes_it_409(signed_in, owner, rented, proxmox):
    power.request_power_action(reload_server(), "restart")
    response = reinstall(signed_in)
    assert (response.status_code, response.get_json()["message"]) == (409, "server busy")
    assert reload_server().lifecycle_state == LifecycleState.ACTIVE


@pytest.mark.parametrize("body", [{"server_id": 301, "os": "windows"}, {"server_id": 301}, {"server_id": 301, "os": 1}])
def test_bad_os(signed_in, rented, body):
    response = signed_in.post("/reinstall_server", json=body)
    assert (response.status_code, response.get_json()["message"]) == (400, "bad os")


@pytest.mark.parametrize("server_id", ["301", 301.5, True, None])
def test_server_id_must_be_a_json_integer(signed_in, rented, server_id):
    response = signed_in.post("/reinstall_server", json={"server_id": server_id, "os": "debian"})
    assert response.status_code == 400


def test_foreign_and_suspended(signed_in, owner, rented, sold):
    from tests.support.factories import make_user
    sold(make_user("other@example.com"), 302)
    assert reinstall(signed_in, 302).status_code == 404
    server = reload_server()
    server.lifecycle_state, server.suspend_reason = LifecycleState.SUSPENDED, "unpaid"
    db.session.commit()
    response = reinstall(signed_in)
    assert (response.status_code, response.get_json()["message"]) == (403, "server suspended")


def test_a_failing_clone_flags_the_server_and_a_retry_finishes(signed_in, owner, rented, proxmox, smtp, work):
    proxmox.fail_task_next("qmclone", "clone failed: storage full")
    assert reinstall(signed_in).status_code == 202
    work()
    run, server = only_run(), reload_server()
    assert run.state == RunState.FAILED
    assert {s.name: s.state for s in run.steps}["clone_template"] == RunState.FAILED
    assert server.lifecycle_state == LifecycleState.REINSTALLING and "clone_template" in server.attention
    assert [m for m in smtp.messages if "не удалась" in str(m["Subject"])]
    assert service_status(signed_in) == "reinstalling"
    assert vm_locks.holder(301) is None

    staff = make_staff("admin")
    runs.retry_run(run.id, staff)
    db.session.commit()
    assert only_run().state == RunState.PENDING
    work()
    run, server = only_run(), reload_server()
    assert run.state == RunState.DONE, (run.error, [(s.name, s.state, s.error) for s in run.steps])
    assert server.lifecycle_state == LifecycleState.ACTIVE and server.attention is None
    assert [s.attempts for s in run.steps][:2] == [1, 1]  # stop and destroy were not done again
    assert [m for m in smtp.messages if "переустановлен" in str(m["Subject"])]
    assert_every_ledger_consistent()


def test_staff_cannot_suspend_or_terminate_a_running_reinstall(signed_in, owner, rented, proxmox):
    staff = make_staff("admin")
    assert reinstall(signed_in).status_code == 202
    with pytest.raises(lifecycle_admin.LifecycleActionError):
        lifecycle_admin.suspend_now(301, staff)
    db.session.rollback()
    with pytest.raises(lifecycle_admin.LifecycleActionError, match="being reinstalled"):
        lifecycle_admin.terminate_now(301, staff)
    db.session.rollback()
    with pytest.raises(lifecycle_admin.ReleaseRefused):
        lifecycle_admin.release_server(301, staff)
    db.session.rollback()
    assert reload_server().lifecycle_state == LifecycleState.REINSTALLING


def test_staff_may_terminate_a_failed_reinstall(signed_in, owner, rented, proxmox, work):
    proxmox.fail_task_next("qmclone")
    assert reinstall(signed_in).status_code == 202
    work()
    wipe = lifecycle_admin.terminate_now(301, make_staff("admin"))
    db.session.commit()
    assert wipe is not None and reload_server().lifecycle_state == LifecycleState.WIPING


def test_the_billing_cycle_waits_for_a_reinstall(signed_in, owner, rented, proxmox, work):
    server = reload_server()
    server.paid_until = datetime.now(timezone.utc) - timedelta(hours=1)
    db.session.commit()
    assert reinstall(signed_in).status_code == 202
    report = cycle.run_cycle()
    assert 301 not in report.renewed + report.suspended
    assert reload_server().lifecycle_state == LifecycleState.REINSTALLING
    work("provisioning")
    assert reload_server().lifecycle_state == LifecycleState.ACTIVE
    report = cycle.run_cycle()
    assert 301 in report.renewed + report.suspended
    assert_every_ledger_consistent()
