"""Power actions: one at a time per VM, carried out by the worker, status read back from Proxmox."""
import pytest
from rq import Queue
from rq.job import Job

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import Server
from oxnack_admin.services.fleet import vm_locks
from oxnack_admin.services.fleet.power import PowerActionError, request_power_action
from oxnack_admin.services.ops import queues_admin
from tests.jobs.support import place
from tests.support.factories import make_server


@pytest.fixture
def owned_vm(app, proxmox, customer):
    """A sold, running VM."""
    proxmox.add_vm(301, status="running")
    return make_server(301, status="on", busy=True, username=customer.username)


def _server(vmid=301) -> Server:
    db.session.expire_all()
    return db.session.get(Server, vmid)


def test_a_second_action_is_refused_while_the_first_holds_the_vm(app, proxmox, owned_vm, work):
    request_power_action(owned_vm, "stop", requested_by="customer")
    with pytest.raises(PowerActionError) as refused:
        request_power_action(owned_vm, "start", requested_by="customer")
    assert refused.value.status == 409

    work("default")

    assert proxmox.vm(301).status == "stopped" and _server().status == "off"
    assert len(proxmox.calls_to("POST", r"/qemu/301/status/shutdown$")) == 1
    assert proxmox.calls_to("POST", r"/qemu/301/status/start$") == []  # the refused one never ran
    assert vm_locks.holder(301) is None
    request_power_action(owned_vm, "start", requested_by="customer")  # free again
    work("default")
    assert proxmox.vm(301).status == "running" and _server().status == "on"


def test_stop_powers_off_hard_when_the_guest_ignores_shutdown(app, proxmox, owned_vm, work):
    proxmox.fail_task_next("qmshutdown", "VM quit/powerdown failed - got timeout")

    request_power_action(owned_vm, "stop")
    work("default")

    assert len(proxmox.calls_to("POST", r"/status/shutdown$")) == 1
    assert len(proxmox.calls_to("POST", r"/status/stop$")) == 1
    assert proxmox.vm(301).status == "stopped" and _server().status == "off"


def test_restart_reboots_a_running_vm_and_starts_a_stopped_one(app, proxmox, owned_vm, work):
    request_power_action(owned_vm, "restart")
    work("default")
    assert len(proxmox.calls_to("POST", r"/status/reboot$")) == 1 and _server().status == "on"

    request_power_action(owned_vm, "stop")
    work("default")
    request_power_action(_server(), "restart")
    work("default")
    assert len(proxmox.calls_to("POST", r"/status/start$")) == 1
    assert proxmox.vm(301).status == "running" and _server().status == "on"


def test_status_follows_proxmox_not_the_request_when_the_action_fails(app, proxmox, owned_vm, work):
    proxmox.add_vm(301, status="stopped")  # the VM went down behind our back; the row still says on
    proxmox.fail_next("POST", r"/qemu/301/status/start$", 500)

    request_power_action(owned_vm, "start")
    work("default")

    assert _server().status == "off"  # read back from Proxmox
    assert len(Queue("default", connection=redis_client.connection).failed_job_registry) == 1  # RQ saw it
    assert vm_locks.holder(301) is None  # released even though the job failed


def test_power_actions_wait_for_provisioning_to_finish(app, proxmox, pfsense, smtp, pool, customer, work):
    pool(1)
    placed = place(customer)
    for action in ("stop", "restart"):
        with pytest.raises(PowerActionError) as refused:
            request_power_action(placed.server, action)
        assert refused.value.status == 409 and "being created" in refused.value.message
    started = request_power_action(placed.server, "start")  # provisioning starts it anyway
    assert started.job_id is None and "running when created" in started.message
    assert vm_locks.holder(placed.server.id) is None and not Queue("default", connection=redis_client.connection).jobs

    work()
    assert proxmox.vm(placed.server.id).status == "running" and _server(placed.server.id).status == "on"
    request_power_action(_server(placed.server.id), "stop")
    work("default")
    assert _server(placed.server.id).status == "off"


def _failed_power_job():
    registry = Queue("default", connection=redis_client.connection).failed_job_registry
    [job_id] = registry.get_job_ids()
    return registry, Job.fetch(job_id, connection=redis_client.connection)


def test_a_retried_power_job_takes_a_fresh_lock_instead_of_replaying_its_old_token(app, proxmox, owned_vm, work):
    proxmox.add_vm(301, status="stopped")
    proxmox.fail_next("POST", r"/qemu/301/status/start$", 500)
    request_power_action(owned_vm, "start")
    work("default")
    registry, failed = _failed_power_job()
    old_token = failed.args[2]

    # Meanwhile another operation holds the VM: the retry must wait its turn, not barge in.
    other = vm_locks.acquire(301, "release")
    with pytest.raises(queues_admin.JobRetryRefused, match="another action"):
        queues_admin.retry_job("default", failed.id)
    vm_locks.release(301, other)

    new_job_id = queues_admin.retry_job("default", failed.id)
    assert new_job_id != failed.id and failed.id not in registry
    [queued] = Queue("default", connection=redis_client.connection).jobs
    assert queued.id == new_job_id and queued.args[2] != old_token and vm_locks.holder(301) == queued.args[2]
    work("default")
    assert proxmox.vm(301).status == "running" and _server().status == "on" and vm_locks.holder(301) is None


def test_a_power_job_is_not_retried_for_a_server_that_changed_owner(app, proxmox, owned_vm, work):
    proxmox.fail_next("POST", r"/qemu/301/status/shutdown$", 500, times=3)
    proxmox.fail_next("POST", r"/qemu/301/status/stop$", 500)
    request_power_action(owned_vm, "stop")
    work("default")
    _, failed = _failed_power_job()
    server = _server()
    server.username = "someone-new"  # released and sold again since
    db.session.commit()

    with pytest.raises(queues_admin.JobRetryRefused, match="no longer belongs"):
        queues_admin.retry_job("default", failed.id)
    assert vm_locks.holder(301) is None and not Queue("default", connection=redis_client.connection).jobs
