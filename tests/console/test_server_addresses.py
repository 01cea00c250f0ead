"""One public and one LAN address per server row: the forms say so, and the database holds it under races."""
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, Server, ServerAddress
from tests.console.conftest import HTMX
from tests.support.factories import make_server

VM = {"vmid": "930", "os": "ubuntu", "ips": "198.51.100.130", "lan_ip": "192.168.9.130", "mac": "", "node": "",
      "country": ""}
EDIT = {"os": "ubuntu", "ips": "198.51.100.131", "lan_ip": "192.168.9.131", "mac": "", "node": "", "country": "",
        "name": "", "attention": ""}


def test_adding_a_vm_with_a_lan_address_in_use_is_a_form_error(app, client, as_role):
    as_role("admin")
    make_server(931, ips=["198.51.100.1"], lan_ip="192.168.9.130")
    response = client.post("/console/servers/new", data=VM, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "LAN address 192.168.9.130 is already assigned to VM 931" in body
    assert db.session.get(Server, 930) is None


def test_the_database_refuses_what_the_form_check_misses(app, client, as_role):
    """A legacy-style spaced address is the same address: the check compares text, the constraint trims."""
    as_role("admin")
    make_server(932, ips=[" 198.51.100.130"], lan_ip="192.168.9.1")
    response = client.post("/console/servers/new", data=VM, headers=HTMX)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "already assigned to another VM" in response.get_data(as_text=True)
    assert db.session.get(Server, 930) is None and not db.session.scalars(select(AuditEvent)).all()


def test_editing_to_an_address_in_use_is_a_form_error(app, client, as_role):
    as_role("admin")
    make_server(933, ips=["198.51.100.131"], lan_ip="192.168.9.133")
    make_server(934, ips=["198.51.100.134"], lan_ip="192.168.9.134")
    public = client.post("/console/servers/934/edit", data={**EDIT, "lan_ip": "192.168.9.134"}, headers=HTMX)
    assert public.status_code == 422 and "198.51.100.131 is already assigned to VM 933" in public.get_data(as_text=True)
    lan = client.post("/console/servers/934/edit", data={**EDIT, "ips": "198.51.100.134", "lan_ip": "192.168.9.133"},
                      headers=HTMX)
    assert lan.status_code == 422 and "192.168.9.133 is already assigned to VM 933" in lan.get_data(as_text=True)
    fine = client.post("/console/servers/934/edit", data={**EDIT, "ips": "198.51.100.135", "lan_ip": "192.168.9.135"},
                       headers=HTMX)
    assert fine.status_code == 200
    claims = {(a.kind, a.address): a.server_id for a in db.session.scalars(select(ServerAddress))}
    assert claims == {("public", "198.51.100.131"): 933, ("lan", "192.168.9.133"): 933,
                      ("public", "198.51.100.135"): 934, ("lan", "192.168.9.135"): 934}


def test_a_range_overlapping_a_lan_address_is_refused(app, client, as_role):
    as_role("admin")
    make_server(935, ips=["198.51.100.200"], lan_ip="192.168.9.12")
    response = client.post("/console/servers/bulk", data={
        "first_vmid": "940", "last_vmid": "942", "os": "debian", "first_ip": "198.51.100.240",
        "first_lan_ip": "192.168.9.10", "node": "", "country": ""}, headers=HTMX)
    assert response.status_code == 422 and "192.168.9.12 is already assigned to VM 935" in response.get_data(as_text=True)
    assert db.session.scalar(select(Server.id).where(Server.id >= 940)) is None


def test_a_released_address_can_be_reused(app):
    server = make_server(936, ips=["198.51.100.66"], lan_ip="192.168.9.66")
    with pytest.raises(IntegrityError):
        make_server(937, ips=["198.51.100.66"], lan_ip="192.168.9.67")
    db.session.rollback()
    server = db.session.get(Server, 936)
    server.ips, server.lan_ip = ["198.51.100.99"], None
    db.session.commit()
    make_server(937, ips=["198.51.100.66"], lan_ip="192.168.9.66")
    db.session.delete(db.session.get(Server, 936))
    db.session.commit()
    assert {a.server_id for a in db.session.scalars(select(ServerAddress))} == {937}


def test_concurrent_adds_of_one_address_leave_one_vm_and_no_server_error(app, client, as_role):
    import threading
    from tests.console.conftest import STAFF_PASSWORD, sign_in
    from tests.support.factories import make_staff
    staff = make_staff("admin", password=STAFF_PASSWORD)
    barrier, statuses = threading.Barrier(6), []
    clients = []
    for _ in range(6):
        clients.append(app.test_client())
        sign_in(clients[-1], staff)

    def add(vmid):
        own = clients[vmid - 950]
        barrier.wait()
        response = own.post("/console/servers/new", data={**VM, "vmid": str(vmid), "lan_ip": f"192.168.9.{vmid % 250}"},
                            headers=HTMX)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=add, args=(950 + n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [204] + [422] * 5
    db.session.expire_all()
    assert len(db.session.scalars(select(Server)).all()) == 1
    assert db.session.scalars(select(ServerAddress.server_id).where(ServerAddress.address == "198.51.100.130")).all() \
        == [db.session.scalar(select(Server.id))]
