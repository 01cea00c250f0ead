"""An order becomes a running VM through the real worker; failures resume at their step."""
import pytest

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, MailMessage, Server
from oxnack_admin.models.enums import MailState, RunState
from oxnack_admin.services.fleet import vm_locks
from tests.jobs.support import assert_ledger_consistent, place, reload_run, steps_of

ALL_STEPS = ("configure_vm", "resize_disk", "network", "start_vm", "notify_owner")


def test_order_becomes_a_running_vm_and_the_owner_gets_its_password(app, proxmox, pfsense, smtp, pool, customer,
                                                                    work):
    pool(1)
    placed = place(customer, cores=2, ram=3, hdd=25)
    run_id, vmid, price = placed.run.id, placed.server.id, placed.price

    work()

    run = reload_run(run_id)
    assert run.state == RunState.DONE and run.error is None
    assert steps_of(run) == {name: (RunState.DONE, 1) for name in ALL_STEPS}
    server = db.session.get(Server, vmid)
    vm = proxmox.vm(vmid)
    assert vm.status == "running" and server.status == "on"
    assert vm.config["cores"] == 2 and int(vm.config["memory"]) == 3 * 1024
    assert vm.config["name"] == f"{vmid}-{customer.username}" == server.name
    assert vm.config["net0"] == f"virtio={server.mac},bridge=vmbr1"
    assert vm.config["ciuser"] == "root"
    assert "size=25G" in vm.config["scsi0"]
    password = vm.config["cipassword"]
    assert len(password) >= 12 and server.passwd is None  # forgotten once the mail was queued

    lan_ip, wan_ip = server.lan_ip, server.first_ip
    assert [(m["mac"], m["ipaddr"]) for m in pfsense.static_mappings] == [(server.mac, lan_ip)]
    assert [(n["external"], n["source"]) for n in pfsense.nat_mappings] == [(wan_ip, lan_ip)]
    ours = [r for r in pfsense.rules if r["descr"] == f"oxnack vm {vmid}"]
    assert len(ours) == 1 and ours[0]["interface"] == ["wan"] and ours[0]["destination"] == lan_ip
    assert pfsense.pending == set() and pfsense.applied["dhcp"] >= 1 and pfsense.applied["firewall"] >= 1
    assert server.network_refs["dhcp_static_mapping"]["mac"] == server.mac
    assert set(server.network_refs) == {"dhcp_static_mapping", "one_to_one_nat", "wan_pass_rule"}

    [message] = smtp.messages
    assert message["To"] == customer.mail
    assert message["From"] == "Oxnack <noreply@oxnack.test>"
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"
    body = message.get_content()
    assert password in body and f"ssh root@{wan_ip}" in body
    for detail in ("Ядер процессора: 2", "Память: 3 ГБ", "Диск: 25 ГБ", "Система: ubuntu"):
        assert detail in body
    stored = db.session.query(MailMessage).one()
    assert stored.state == MailState.SENT and password not in stored.body  # redacted once delivered
    assert password not in str([step.result for step in run.steps])  # the record never shows it
    assert vm_locks.holder(vmid) is None
    assert customer.balance == 500 - price
    assert_ledger_consistent(customer.id)


def _count(simulator, method, pattern):
    return len(simulator.calls_to(method, pattern))


@pytest.mark.parametrize("failing_step, inject", [
    ("configure_vm", lambda pve, pf: pve.fail_next("POST", r"/qemu/301/config$", 500)),
    ("resize_disk", lambda pve, pf: pve.fail_next("PUT", r"/qemu/301/resize$", 500)),
    # The DHCP mapping is made, then the NAT call fails: the retry must not make a second mapping.
    ("network", lambda pve, pf: pf.fail_next("POST", r"/firewall/nat/one_to_one/mapping$", 503)),
    ("start_vm", lambda pve, pf: pve.fail_next("POST", r"/qemu/301/status/start$", 500)),
])
def test_a_transient_failure_is_retried_from_its_own_step(app, proxmox, pfsense, smtp, pool, customer, work,
                                                          failing_step, inject):
    pool(1)
    inject(proxmox, pfsense)
    placed = place(customer, hdd=20)

    work()

    run = reload_run(placed.run.id)
    assert run.state == RunState.DONE
    expected = {name: (RunState.DONE, 2 if name == failing_step else 1) for name in ALL_STEPS}
    assert steps_of(run) == expected
    # Steps done before the failure were not redone: each remote write happened once.
    assert _count(proxmox, "POST", r"/qemu/301/config$") == (2 if failing_step == "configure_vm" else 1)
    assert _count(proxmox, "PUT", r"/qemu/301/resize$") == (2 if failing_step == "resize_disk" else 1)
    assert _count(pfsense, "POST", r"/dhcp_server/static_mapping$") == 1
    assert len(pfsense.static_mappings) == len(pfsense.nat_mappings) == 1
    assert len([r for r in pfsense.rules if r["descr"].startswith("oxnack vm")]) == 1
    assert proxmox.vm(301).status == "running"
    assert "size=20G" in proxmox.vm(301).config["scsi0"]
    [message] = smtp.messages
    assert proxmox.vm(301).config["cipassword"] in message.get_content()
    assert_ledger_consistent(customer.id)


def test_a_disk_that_needs_no_growth_is_skipped(app, proxmox, pfsense, smtp, pool, customer, work):
    pool(1)
    placed = place(customer, hdd=app.config["MIN_HDD"])

    work()

    run = reload_run(placed.run.id)
    assert run.state == RunState.DONE
    assert run.steps[1].result["grown_by_gb"] == 0
    assert _count(proxmox, "PUT", r"/resize$") == 0


def test_audit_records_the_finished_run(app, proxmox, pfsense, smtp, pool, customer, work):
    pool(1)
    placed = place(customer)
    work()
    event = db.session.query(AuditEvent).filter_by(action="provisioning.done").one()
    assert event.actor == "system" and event.target_id == str(placed.run.id)
