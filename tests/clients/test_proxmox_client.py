"""ProxmoxClient against the loopback Proxmox simulator (real HTTP, real proxmoxer)."""
import secrets
import socket
import threading
import time

import pytest
import requests

from oxnack_admin.clients.errors import PermanentRemoteError, TransientRemoteError
from oxnack_admin.clients.proxmox import ProxmoxClient
from oxnack_admin.simulator.proxmox import ProxmoxSimulator

VMID = 105


@pytest.fixture
def sim():
    with ProxmoxSimulator(task_polls_before_done=1) as simulator:
        simulator.add_vm(VMID, name="ubuntu-pool", status="stopped")
        yield simulator


def make_client(sim, **overrides) -> ProxmoxClient:
    options = {"token": sim.token, "timeout": 2, "task_deadline_seconds": 2, "poll_interval": 0.005}
    options.update(overrides)
    return ProxmoxClient(sim.url, "pve", **options)


@pytest.fixture
def client(sim):
    return make_client(sim)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- authentication ------------------------------------------------------------------------

def test_ticket_auth_logs_in_once_and_writes_with_csrf(sim):
    client = make_client(sim, token=None, password="simulator")

    client.update_config(VMID, cores=2)

    assert [c.path for c in sim.calls_to("POST", r"/access/ticket$")] == ["/api2/json/access/ticket"]
    assert sim.calls_to("POST", r"/access/ticket$")[0].params["password"] == "***"
    assert sim.vm(VMID).config["cores"] == 2


def test_wrong_password_is_a_permanent_error_without_the_password(sim):
    wrong_password = secrets.token_urlsafe(12)
    client = make_client(sim, token=None, password=wrong_password)

    with pytest.raises(PermanentRemoteError) as caught:
        client.get_config(VMID)

    assert "root@pam" in str(caught.value) and wrong_password not in str(caught.value)


def test_token_auth_needs_no_ticket(sim, client):
    assert client.get_config(VMID)["name"] == "ubuntu-pool"
    assert sim.calls_to("POST", r"/access/ticket$") == []


def test_bad_token_is_permanent(sim):
    client = make_client(sim, token="root@pam!oxnack=not-the-secret")

    with pytest.raises(PermanentRemoteError, match="401"):
        client.get_config(VMID)


def test_simulator_rejects_anonymous_calls_and_ticket_writes_without_csrf(sim):
    base = f"{sim.url}/api2/json/nodes/pve/qemu/{VMID}/config"
    assert requests.get(base, timeout=2).status_code == 401

    login = requests.post(f"{sim.url}/api2/json/access/ticket", timeout=2,
                          data={"username": "root@pam", "password": "simulator"}).json()["data"]
    cookies = {"PVEAuthCookie": login["ticket"]}
    assert requests.get(base, cookies=cookies, timeout=2).status_code == 200
    assert requests.post(base, data={"cores": 4}, cookies=cookies, timeout=2).status_code == 401
    assert requests.post(base, data={"cores": 4}, cookies=cookies, timeout=2,
                         headers={"CSRFPreventionToken": login["CSRFPreventionToken"]}).status_code == 200


def test_token_user_is_taken_from_the_token(sim):
    assert make_client(sim, user="someone@pve").user == "root@pam"
    with pytest.raises(ValueError):
        ProxmoxClient(sim.url, "pve", password="x", token=sim.token)


# --- config and tasks ----------------------------------------------------------------------

def test_update_config_posts_and_waits_for_the_task(sim, client):
    sim.task_polls_before_done = 3

    client.update_config(VMID, cores=4, memory=4096, ciuser="oxnack", cipassword="Fresh-Pass-1")

    [post] = sim.calls_to("POST", rf"/qemu/{VMID}/config$")
    assert post.params == {"cores": "4", "memory": "4096", "ciuser": "oxnack", "cipassword": "Fresh-Pass-1"}
    assert len(sim.calls_to("GET", r"/tasks/UPID:pve:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmconfig:105:")) == 4
    stored = sim.vm(VMID).config
    assert (stored["cores"], stored["memory"], stored["cipassword"]) == (4, "4096", "Fresh-Pass-1")
    shown = client.get_config(VMID)
    assert shown["cipassword"] == "**********" and "lock" not in shown


def test_vm_is_locked_while_its_task_runs(sim, client):
    sim.task_polls_before_done = 1000
    upid = requests.post(f"{sim.url}/api2/json/nodes/pve/qemu/{VMID}/config", data={"cores": 2}, timeout=2,
                         headers={"Authorization": f"PVEAPIToken={sim.token}"}).json()["data"]

    assert client.get_config(VMID)["lock"] == "qmconfig"
    with pytest.raises(TransientRemoteError, match="locked"):
        client.update_config(VMID, cores=3)
    assert upid.startswith("UPID:pve:") and upid.endswith(":qmconfig:105:root@pam!oxnack:")


def test_failed_task_is_permanent_and_leaves_config_alone(sim, client):
    sim.fail_task_next("qmconfig", "unable to apply pending change cores")

    with pytest.raises(PermanentRemoteError, match="unable to apply pending change cores"):
        client.update_config(VMID, cores=8)

    assert sim.vm(VMID).config["cores"] == 1
    assert "lock" not in client.get_config(VMID)


def test_task_with_warnings_counts_as_done(sim, client):
    sim.fail_task_next("qmconfig", "WARNINGS: 1")

    client.update_config(VMID, cores=2)

    assert sim.vm(VMID).config["cores"] == 2


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_are_transient_and_a_retry_works(sim, client, status):
    sim.fail_next("POST", rf"/qemu/{VMID}/config$", status=status)

    with pytest.raises(TransientRemoteError, match=str(status)):
        client.update_config(VMID, cores=2)
    client.update_config(VMID, cores=2)

    assert sim.vm(VMID).config["cores"] == 2


def test_client_errors_are_permanent(sim, client):
    sim.fail_next("GET", rf"/qemu/{VMID}/config$", status=400)

    with pytest.raises(PermanentRemoteError, match="400"):
        client.get_config(VMID)


def test_stuck_lock_is_transient_and_nothing_is_sent(sim, client):
    sim.stick_lock(VMID, "backup")

    with pytest.raises(TransientRemoteError, match=r"locked \(backup\)"):
        client.update_config(VMID, cores=2)
    assert sim.calls_to("POST", rf"/qemu/{VMID}/config$") == []

    sim.clear_lock(VMID)
    client.update_config(VMID, cores=2)
    assert sim.vm(VMID).config["cores"] == 2


def test_lock_found_after_a_finished_task_is_transient(sim):
    client = make_client(sim, poll_interval=0.2)

    def lock_once_the_task_is_polled():
        deadline = time.monotonic() + 2
        while not sim.calls_to("GET", r"/tasks/") and time.monotonic() < deadline:
            time.sleep(0.001)
        sim.stick_lock(VMID, "backup")

    watcher = threading.Thread(target=lock_once_the_task_is_polled)
    watcher.start()
    with pytest.raises(TransientRemoteError, match="still locked"):
        client.update_config(VMID, cores=2)
    watcher.join()
    assert sim.vm(VMID).config["cores"] == 2  # the change landed; only the lock check failed


def test_task_past_its_deadline_is_transient(sim):
    sim.task_polls_before_done = 10_000
    client = make_client(sim, task_deadline_seconds=0.05)

    with pytest.raises(TransientRemoteError, match="still running"):
        client.update_config(VMID, cores=2)


def test_slow_answer_is_a_transient_timeout(sim):
    sim.delay_next(rf"/qemu/{VMID}/status/current$", 1.0)
    client = make_client(sim, timeout=0.2)

    with pytest.raises(TransientRemoteError, match="in time"):
        client.current_status(VMID)


def test_unreachable_host_is_transient_through_proxmoxapi():
    client = ProxmoxClient(f"https://127.0.0.1:{closed_port()}", "pve", password="secret", timeout=1)

    with pytest.raises(TransientRemoteError, match="cannot reach") as caught:
        client.get_config(VMID)
    assert "secret" not in str(caught.value)


def test_unknown_vm_is_transient_like_pves_500(client):
    with pytest.raises(TransientRemoteError, match="does not exist"):
        client.get_config(999)


# --- disks ---------------------------------------------------------------------------------

def test_resize_grows_the_disk_and_waits(sim, client):
    client.resize_disk(VMID, "scsi0", 5)

    [put] = sim.calls_to("PUT", rf"/qemu/{VMID}/resize$")
    assert put.params == {"disk": "scsi0", "size": "+5G"}
    assert sim.vm(VMID).config["scsi0"] == "local-lvm:vm-105-disk-0,size=20G"
    assert sim.calls_to("GET", r":resize:105:")
    assert client.disk_size_gb(client.get_config(VMID), "scsi0") == 20


def test_resize_by_zero_sends_nothing_and_shrinking_is_refused(sim, client):
    client.resize_disk(VMID, "scsi0", 0)
    with pytest.raises(PermanentRemoteError):
        client.resize_disk(VMID, "scsi0", -5)

    assert sim.calls_to("PUT", r"/resize$") == []


def test_resize_on_a_pve_that_answers_null(sim, client):
    sim.resize_returns_task = False

    client.resize_disk(VMID, "scsi0", 10)

    assert sim.vm(VMID).config["scsi0"].endswith("size=25G")
    assert sim.calls_to("GET", r"/tasks/") == []


def test_simulator_refuses_to_shrink_like_pve(sim):
    answer = requests.put(f"{sim.url}/api2/json/nodes/pve/qemu/{VMID}/resize", timeout=2,
                          data={"disk": "scsi0", "size": "10G"},
                          headers={"Authorization": f"PVEAPIToken={sim.token}"})

    assert answer.status_code == 500 and "shrinking" in answer.reason


@pytest.mark.parametrize("config, expected", [
    ({"ide2": "local-lvm:vm-105-cloudinit,media=cdrom", "scsi0": "local-lvm:vm-105-disk-0,size=15G"}, "scsi0"),
    ({"scsi0": "local-lvm:vm-1-cloudinit", "scsi1": "local-lvm:vm-1-disk-0,size=8G"}, "scsi1"),
    ({"ide0": "none,media=cdrom", "sata0": "local-lvm:vm-1-disk-1,size=8G",
      "virtio10": "local-lvm:vm-1-disk-2,size=8G", "virtio2": "local-lvm:vm-1-disk-0,size=8G"}, "virtio2"),
    ({"ide0": "local:iso/ubuntu.iso,media=cdrom", "ide1": "local-lvm:vm-1-disk-0,size=8G"}, "ide1"),
])
def test_find_disk_key_skips_cdrom_and_cloudinit(config, expected):
    assert ProxmoxClient.find_disk_key({"name": "x", "scsihw": "virtio-scsi-single", **config}) == expected


def test_find_disk_key_without_a_disk_is_permanent():
    with pytest.raises(PermanentRemoteError):
        ProxmoxClient.find_disk_key({"ide2": "local-lvm:vm-1-cloudinit,media=cdrom"})


# --- power ---------------------------------------------------------------------------------

def test_power_operations_change_status(sim, client):
    client.start(VMID)
    assert client.current_status(VMID) == "running"
    client.start(VMID)  # already running: nothing sent
    client.reboot(VMID)
    assert sim.vm(VMID).status == "running"
    client.shutdown(VMID, timeout=30)
    assert client.current_status(VMID) == "stopped"
    client.stop(VMID)  # already stopped: nothing sent

    posts = [c.path.rsplit("/", 1)[-1] for c in sim.calls_to("POST", r"/status/")]
    assert posts == ["start", "reboot", "shutdown"]
    assert sim.calls_to("POST", r"/status/shutdown$")[0].params == {"timeout": "30", "forceStop": "0"}


def test_stop_and_reboot_of_a_stopped_vm(sim, client):
    client.start(VMID)
    client.stop(VMID)
    assert sim.vm(VMID).status == "stopped"

    with pytest.raises(PermanentRemoteError, match="not running"):
        client.reboot(VMID)


def test_failed_start_task_is_permanent(sim, client):
    sim.fail_task_next("qmstart", "start failed: QEMU exited with code 1")

    with pytest.raises(PermanentRemoteError, match="QEMU exited"):
        client.start(VMID)
    assert sim.vm(VMID).status == "stopped"


def test_start_counts_a_vm_an_earlier_start_just_brought_up_as_started(sim, client):
    """Found by the soak: a retried start step failed for good on PVE's "already running"."""
    sim.task_polls_before_done, sim.task_seconds_before_done = 1000, 0.2
    requests.post(f"{sim.url}/api2/json/nodes/pve/qemu/{VMID}/status/start", timeout=2,
                  headers={"Authorization": f"PVEAPIToken={sim.token}"})  # the lost first attempt
    time.sleep(0.3)  # its task is over; the node shows the VM running only once it is asked to act

    client.start(VMID)

    assert sim.vm(VMID).status == "running"
    assert len(sim.calls_to("POST", rf"/qemu/{VMID}/status/start$")) == 2
