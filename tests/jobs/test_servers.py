"""Release to the pool, the simulator hypervisor and the worker/scheduler commands."""

import pytest
from rq import Queue

from jobs.worker import build_scheduler
from oxnack_admin.clients.proxmox import ProxmoxClient
from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import AuditEvent, MailMessage, Server
from oxnack_admin.models.enums import MailState, RunState
from oxnack_admin.services.fleet import vm_locks
from oxnack_admin.services.mail import mail
from oxnack_admin.services.provisioning import runs as provisioning_runs
from oxnack_admin.services.lifecycle.admin import ReleaseRefused, release_server
from oxnack_admin.cli.simulators import start_simulators
from tests.jobs.support import place, reload_run
from tests.support.factories import make_server, make_staff, make_user


def test_release_removes_the_firewall_entries_and_returns_the_vm_to_the_pool(app, proxmox, pfsense, smtp, pool,
                                                                             customer, work):
    pool(1)
    proxmox.add_template(app.config["OS_TEMPLATES"]["ubuntu"]["template_vmid"])
    place(customer)
    work()
    default_rules = [r for r in pfsense.rules if not r["descr"].startswith("oxnack")]
    staff = make_staff("admin")

    release_server(301, staff)
    db.session.commit()
    work()  # the wipe: stop, destroy, clone, firewall entries, back to the pool

    server = db.session.get(Server, 301)
    assert server.is_free and server.username is None and server.passwd is None and server.network_refs is None
    assert server.status == "off" and proxmox.vm(301).status == "stopped"
    assert pfsense.static_mappings == [] and pfsense.nat_mappings == []
    assert pfsense.rules == default_rules and pfsense.pending == set()
    event = db.session.query(AuditEvent).filter_by(action="server.release").one()
    assert event.staff_id == staff.id and event.before["username"] == customer.username
    assert vm_locks.holder(301) is None

    # Sold again, it is provisioned from scratch with fresh firewall entries.
    again = place(make_user("next@example.com", balance=500))
    work()
    assert reload_run(again.run.id).state == RunState.DONE
    assert len(pfsense.static_mappings) == 1 and pfsense.static_mappings[0]["mac"] == db.session.get(Server, 301).mac


def test_release_is_refused_while_provisioning_or_another_operation_runs(app, proxmox, pfsense, pool, customer):
    pool(1)
    place(customer)
    with pytest.raises(ReleaseRefused, match="being provisioned"):
        release_server(301, None)
    db.session.rollback()

    other = make_server(302, busy=True, username=customer.username)
    proxmox.add_vm(302)
    vm_locks.acquire(302, "power:stop")
    with pytest.raises(ReleaseRefused, match="another operation"):
        release_server(other.id, None)


def test_the_simulators_start_with_the_pool_and_answer_the_real_client(app):
    make_server(301, status="off")
    make_server(302, status="on", hdd=25)

    started = start_simulators(app.config)  # reads the pool from the database
    try:
        env = started.environment
        client = ProxmoxClient(env["OXNACK_PROXMOX_URL"], env["OXNACK_PROXMOX_NODE"],
                               token=env["OXNACK_PROXMOX_TOKEN"], poll_interval=0.01)
        assert client.current_status(301) == "stopped" and client.current_status(302) == "running"
        config = client.get_config(302)
        assert client.disk_size_gb(config, client.find_disk_key(config)) == 25
        simulated_proxmox, simulated_pfsense = started
        assert simulated_pfsense.api_key == env["OXNACK_PFSENSE_API_KEY"]
        assert started.config["PROXMOX_URL"] == simulated_proxmox.url
    finally:
        started.stop()


def test_the_scheduler_registers_the_sweep_and_the_billing_cycle(app):
    scheduler = build_scheduler(app)
    jobs = {job.func_name: job for job in scheduler.get_jobs()}
    assert jobs["jobs.maintenance.sweep"].interval == app.config["SWEEP_INTERVAL_SECONDS"]
    assert jobs["jobs.lifecycle.billing_cycle"].cron == app.config["BILLING_CYCLE_CRON"]
    assert jobs["jobs.proxies.sync_inventory"].interval == app.config["SOCKS_SYNC_INTERVAL_MINUTES"] * 60
    assert {job.queue_name for job in jobs.values()} == {"default"}

    scheduler.enqueue_jobs()  # what the scheduler does when they are due: the interval job is due now
    queued = Queue("default", connection=redis_client.connection).jobs
    assert sorted(job.func_name for job in queued) == ["jobs.maintenance.sweep", "jobs.proxies.sync_inventory"]


def test_the_sweep_job_resumes_a_stuck_run(app, proxmox, pfsense, smtp, pool, customer, work, job_config):
    pool(1)
    job_config(PROVISIONING_STUCK_MINUTES=0, MAIL_STUCK_MINUTES=0)
    placed = place(customer)
    Queue("provisioning", connection=redis_client.connection).empty()  # the order's job was lost

    Queue("default", connection=redis_client.connection).enqueue("jobs.maintenance.sweep")
    work()

    assert reload_run(placed.run.id).state == RunState.DONE
    assert len(smtp.messages) == 1


def test_flask_worker_command_runs_the_queued_jobs(app, runner, smtp):
    queued = mail.queue_mail("client@example.com", "Hello", "Привет", "test")
    db.session.commit()

    result = runner.invoke(args=["worker", "--burst", "--no-scheduler", "mail"])

    assert result.exit_code == 0, result.output
    assert len(smtp.messages) == 1
    db.session.expire_all()
    assert db.session.get(MailMessage, queued.id).state == MailState.SENT


def test_flask_worker_command_rejects_an_unknown_queue(app, runner):
    result = runner.invoke(args=["worker", "--burst", "nosuchqueue"])
    assert result.exit_code != 0 and "unknown queues" in result.output


def test_retry_of_a_run_still_running_only_queues_it_again(app, proxmox, pfsense, smtp, pool, customer, work):
    pool(1)
    placed = place(customer)
    Queue("provisioning", connection=redis_client.connection).empty()

    provisioning_runs.retry_run(placed.run.id, make_staff("support"))
    db.session.commit()
    work()

    assert reload_run(placed.run.id).state == RunState.DONE


def test_the_simulators_can_include_platega_and_point_the_app_at_it(app):
    from oxnack_admin.cli.simulators import start_simulators

    started = start_simulators(app.config, pool_vms=[], platega_callback_url="http://127.0.0.1:9/platega/callback")
    try:
        env = started.environment
        assert env["OXNACK_PAYMENT_GATEWAY"] == "simulator"
        assert env["OXNACK_PLATEGA_URL"] == started.platega.url
        assert env["OXNACK_PLATEGA_SECRET"] == started.platega.secret and len(started.platega.secret) > 20
        assert started.config["PLATEGA_MERCHANT_ID"] == started.platega.merchant_id
        assert started.platega in started.servers
    finally:
        started.stop()
