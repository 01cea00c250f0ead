"""GET /user_services (the "my services" page) and POST /control_server (power actions)."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import User
from oxnack_admin.services.provisioning import runs as provisioning_runs
from oxnack_admin.services.fleet import vm_locks
from tests.classic.conftest import queued_jobs
from tests.support.customers import COOKIE, login_cookie
from tests.support.factories import make_server, make_user


def sold_to(user, vmid, **columns):
    return make_server(vmid, busy=True, username=user.username, **columns)


def test_user_services_lists_both_spellings_and_the_fields_the_site_reads(signed_in, customer):
    sold_to(customer, 501, os_name="debian", cores=2, ram=3, hdd=20, status="on",
            ips=["198.51.100.7", "198.51.100.8"], country="finland",
            rented_at=datetime(2026, 3, 1, 12, tzinfo=timezone.utc),
            paid_until=datetime(2026, 3, 31, 12, tzinfo=timezone.utc))
    sold_to(customer, 502, status=None, ips=None, country=None)
    make_server(503, busy=True, username="someone-else")
    make_server(504)  # free pool VM
    response = signed_in.get("/user_services")
    assert response.status_code == 200
    assert response.json["status"] == "good" and response.json["message"] == "services"
    first, second = response.json["services"]
    assert first == {"id": 501, "status": "on", "os": "debian", "cores": 2, "ram": 3, "hdd": 20, "ssd": 20,
                     "ips": ["198.51.100.7", "198.51.100.8"], "ip": "198.51.100.7", "country": "finland",
                     "date_start": "2026-03-01", "date_stop": "2026-03-31"}
    assert second["id"] == 502 and second["status"] == "off" and second["ips"] == [] and second["ip"] == ""
    # No dates anywhere (a customer without legacy dates): null, which is what "no date" means in JSON.
    assert second["country"] == "russia" and second["date_start"] is None and second["date_stop"] is None
    assert None not in (second["os"], second["country"])


@pytest.mark.legacy_ledger  # the sample's old balances never matched a ledger
def test_user_services_of_a_legacy_customer_fall_back_to_the_owner_dates(client, legacy_sample):
    anna = db.session.scalar(select(User).where(User.mail == "anna@example.com"))
    login_cookie(client, anna)
    [service] = client.get("/user_services").json["services"]
    assert service == {"id": 105, "status": "on", "os": "ubuntu", "cores": 2, "ram": 2, "hdd": 20, "ssd": 20,
                       "ips": ["203.0.113.10"], "ip": "203.0.113.10", "country": "russia",
                       "date_start": "2025-10-01", "date_stop": "2025-11-01"}


@pytest.mark.parametrize("legacy, iso", [("01.10.2025", "2025-10-01"), (" 1.2.2026 ", "2026-02-01"),
                                         ("2026-12-01", "2026-12-01"), ("31.02.2025", None), ("soon", None),
                                         ("", None), (None, None), ("01/10/2025", None), ("99.99.9999", None)])
def test_user_services_converts_the_owner_legacy_dates_to_iso_or_null(signed_in, customer, legacy, iso):
    customer.date_start = customer.date_stop = legacy
    db.session.commit()
    sold_to(customer, 501)
    response = signed_in.get("/user_services")
    assert response.status_code == 200
    [service] = response.json["services"]
    assert service["date_start"] == iso and service["date_stop"] == iso


def test_user_services_none(signed_in):
    make_server(504)
    response = signed_in.get("/user_services")
    assert response.status_code == 404 and response.json == {"status": "error", "message": "NOT"}


def test_user_services_without_a_session(client):
    response = client.get("/user_services")
    assert response.status_code == 401 and response.json == {"status": "error", "message": "Unrecognized"}


def test_control_server_queues_the_power_job_under_the_vm_lock(signed_in, customer):
    sold_to(customer, 501)
    response = signed_in.post("/control_server", json={"server_id": 501, "action": "restart"})
    assert response.status_code == 202
    assert response.json["status"] == "success" and response.json["message"] == "restart requested"
    [job] = queued_jobs("default")
    assert job.id == response.json["job_id"] and job.func_name == "jobs.power.run_power_action"
    server_id, action, token, requested_by, owner = job.args
    assert (server_id, action, requested_by, owner) == (501, "restart", f"customer:{customer.id}", customer.username)
    assert vm_locks.holder(501) == token and token.startswith("power:restart:")


def test_control_server_accepts_the_id_as_a_digit_string(signed_in, customer):
    sold_to(customer, 501)
    assert signed_in.post("/control_server", json={"server_id": "501", "action": "stop"}).status_code == 202


def test_a_second_action_while_one_runs_is_refused(signed_in, customer):
    sold_to(customer, 501)
    assert signed_in.post("/control_server", json={"server_id": 501, "action": "start"}).status_code == 202
    response = signed_in.post("/control_server", json={"server_id": 501, "action": "stop"})
    assert response.status_code == 409
    assert response.json == {"status": "error", "message": "another action is running on this server"}
    assert len(queued_jobs("default")) == 1


def _being_created(customer, vmid=501):
    server = sold_to(customer, vmid, lifecycle_state="provisioning")
    provisioning_runs.open_run(server, customer, cores=1, ram=1, hdd=15, os="ubuntu", price=170, promo=None,
                               order_transaction_id=None)
    db.session.commit()


def test_start_while_the_server_is_being_created_is_a_success(signed_in, customer):
    _being_created(customer)
    response = signed_in.post("/control_server", json={"server_id": 501, "action": "start"})
    assert response.status_code == 200
    assert response.json == {"status": "success", "message": "server will be running when created"}
    assert vm_locks.holder(501) is None and not queued_jobs("default")  # provisioning starts it


@pytest.mark.parametrize("action", ["stop", "restart"])
def test_stop_or_restart_while_the_server_is_being_created_is_refused(signed_in, customer, action):
    _being_created(customer)
    response = signed_in.post("/control_server", json={"server_id": 501, "action": action})
    assert response.status_code == 409
    assert response.json == {"status": "error", "message": "server is still being created; stop and restart "
                                                           "work once it is running"}
    assert vm_locks.holder(501) is None and not queued_jobs("default")


def test_unknown_action(signed_in, customer):
    sold_to(customer, 501)
    response = signed_in.post("/control_server", json={"server_id": 501, "action": "explode"})
    assert response.status_code == 400 and response.json["status"] == "error"
    assert vm_locks.holder(501) is None and not queued_jobs("default")


@pytest.mark.parametrize("vmid", [503, 504, 999])
def test_foreign_free_or_unknown_server_is_not_found_alike(signed_in, vmid):
    make_server(503, busy=True, username="someone-else", status="on")
    make_server(504)
    response = signed_in.post("/control_server", json={"server_id": vmid, "action": "stop"})
    assert response.status_code == 404 and response.json == {"status": "error", "message": "server not found"}
    assert vm_locks.holder(vmid) is None and not queued_jobs("default")


@pytest.mark.parametrize("body", [{}, {"server_id": 501}, {"action": "start"}, {"server_id": None, "action": "start"},
                                  {"server_id": True, "action": "start"}, {"server_id": 1.5, "action": "start"},
                                  {"server_id": "abc", "action": "start"}, {"server_id": -1, "action": "start"},
                                  {"server_id": 2 ** 31, "action": "start"}, {"server_id": 501, "action": 1}])
def test_control_server_bad_bodies(signed_in, customer, body):
    sold_to(customer, 501)
    response = signed_in.post("/control_server", json=body)
    assert response.status_code == 400
    assert response.json == {"status": "error", "message": "server_id and action required"}


def test_control_server_without_a_session(client):
    make_server(501, busy=True, username="1")
    client.set_cookie(COOKIE, "stale")
    response = client.post("/control_server", json={"server_id": 501, "action": "start"})
    assert response.status_code == 401 and response.json == {"status": "error", "message": "unlogin"}


def test_a_customer_without_username_owns_nothing(client):
    user = make_user("nameless@example.com")
    user.username = None
    db.session.commit()
    make_server(501, busy=True, username=None)
    login_cookie(client, user)
    assert client.get("/user_services").status_code == 404
    assert client.post("/control_server", json={"server_id": 501, "action": "start"}).status_code == 404
