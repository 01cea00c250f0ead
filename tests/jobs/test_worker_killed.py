"""A worker killed in the middle of a step: the record shows where, and the sweep finishes the run."""
import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from oxnack_admin.extensions import db
from oxnack_admin.models.enums import RunState
from oxnack_admin.services.provisioning import runs as provisioning_runs
from oxnack_admin.services.provisioning.runs import ADVISORY_LOCK_CLASS
from tests.jobs.support import assert_ledger_consistent, place, reload_run, steps_of, wait_until

ROOT = Path(__file__).resolve().parents[2]


def _start_worker(app, tmp_path: Path) -> subprocess.Popen:
    """`flask worker --burst provisioning` in its own process group, configured like the test app."""
    keys = ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "PROXMOX_URL", "PROXMOX_NODE", "PROXMOX_USER", "PROXMOX_TOKEN",
            "PFSENSE_URL", "PFSENSE_API_KEY", "SMTP_HOST", "SMTP_PORT", "SMTP_STARTTLS", "MAIL_SENDER",
            "PROVISIONING_RETRY_INTERVALS", "PROXMOX_POLL_INTERVAL", "PROXMOX_TASK_DEADLINE")
    settings = {key: app.config[key] for key in keys}
    # The worker shares the app's SECRET_KEY, as in production: the root password is sealed under it.
    settings.update(OXNACK_ENV="development", SECRET_KEY=app.config["SECRET_KEY"], PROXMOX_PASSWORD="",
                    PROXMOX_VERIFY_TLS=False, PFSENSE_TIMEOUT=120, LOG_LEVEL="INFO")
    config_file = tmp_path / "worker_config.py"
    config_file.write_text("".join(f"{key} = {value!r}\n" for key, value in settings.items()))
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("OXNACK_") and name not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    environment.update(OXNACK_CONFIG=str(config_file), PYTHONPATH=str(ROOT))
    log = open(tmp_path / "worker.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst", "provisioning"],
                            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _kill_with_children(worker: subprocess.Popen) -> None:
    """SIGKILL the worker and its work horse (RQ puts the horse in a process group of its own)."""
    children = [int(entry) for entry in os.listdir("/proc") if entry.isdigit() and _parent_of(entry) == worker.pid]
    for pid in [worker.pid, *children]:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    worker.wait()


def _parent_of(pid: str) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1])


def _open_transactions() -> int:
    count = db.session.scalar(text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND state LIKE 'idle in transaction%'"))
    db.session.rollback()
    return count


def _advisory_lock_held(run_id: int) -> bool:
    return bool(db.session.scalar(text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = :kind AND objid = :id"),
        {"kind": ADVISORY_LOCK_CLASS, "id": run_id}))


def test_a_killed_worker_leaves_the_step_running_and_the_sweep_finishes_it(app, proxmox, pfsense, smtp, pool,
                                                                           customer, work, tmp_path):
    pool(1)
    # The network step's first call hangs long enough for us to kill the worker inside it.
    pfsense.delay_next(r"/dhcp_server/static_mappings$", 60)
    placed = place(customer, hdd=20)
    run_id = placed.run.id
    worker = _start_worker(app, tmp_path)
    try:
        wait_until(lambda: pfsense.calls_to("GET", r"/dhcp_server/static_mappings$") or worker.poll() is not None,
                   timeout=60, what="the worker to reach the network step")
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        # No transaction of the worker stays open while it waits on pfSense.
        assert _open_transactions() == 0
    finally:
        _kill_with_children(worker)

    run = reload_run(run_id)
    assert run.state == RunState.RUNNING
    assert steps_of(run) == {"configure_vm": (RunState.DONE, 1), "resize_disk": (RunState.DONE, 1),
                             "network": (RunState.RUNNING, 1), "start_vm": (RunState.PENDING, 0),
                             "notify_owner": (RunState.PENDING, 0)}
    # PostgreSQL drops the dead worker's run lock with its connection.
    wait_until(lambda: not _advisory_lock_held(run_id), timeout=30, what="the dead worker's advisory lock")
    db.session.rollback()

    assert provisioning_runs.resume_stuck_runs(older_than_minutes=0) == [run_id]
    work()

    run = reload_run(run_id)
    assert run.state == RunState.DONE
    assert steps_of(run)["network"] == (RunState.DONE, 2)
    assert steps_of(run)["configure_vm"] == (RunState.DONE, 1)
    # Steps before the crash were not redone; the dead attempt's VM lock was taken over.
    assert len(proxmox.calls_to("POST", r"/qemu/301/config$")) == 1
    assert len(proxmox.calls_to("PUT", r"/qemu/301/resize$")) == 1
    assert len(pfsense.static_mappings) == 1 and proxmox.vm(301).status == "running"
    [message] = smtp.messages
    assert proxmox.vm(301).config["cipassword"] in message.get_content()
    assert_ledger_consistent(customer.id)


def test_the_sweep_leaves_recent_and_finished_runs_alone(app, proxmox, pfsense, smtp, pool, customer, work):
    pool(2)
    done = place(customer)
    work()
    pending = place(customer)  # queued a moment ago: its job is on the way

    assert provisioning_runs.resume_stuck_runs() == []
    assert reload_run(done.run.id).state == RunState.DONE
    assert reload_run(pending.run.id).state == RunState.PENDING
