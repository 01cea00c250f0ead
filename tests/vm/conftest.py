"""Fixtures of the VM tests: the job and lifecycle fixtures (simulated Proxmox, pfSense, SMTP, sold servers)."""
import pytest

from oxnack_admin.extensions import db
from oxnack_admin.services.fleet import hypervisor
from oxnack_admin.services.fleet.release import network_descr
from tests.jobs.conftest import job_config, pfsense, pool, proxmox, smtp, work  # noqa: F401
from tests.lifecycle.conftest import sold, templates  # noqa: F401
from tests.support.customers import login_cookie
from tests.support.factories import make_user


@pytest.fixture
def owner(app):
    return make_user("owner@example.com", balance=100)


@pytest.fixture
def signed_in(client, owner):
    login_cookie(client, owner)
    return client


@pytest.fixture
def rented(app, owner, sold, proxmox, pfsense, smtp):
    """The owner's running server 301 with its pfSense objects made at order time and a file on its disk."""
    server = sold(owner, 301, ips=["198.51.100.31"], lan_ip="192.168.2.31")
    client, descr = hypervisor.pfsense_client(), network_descr(301)
    refs = {"dhcp_static_mapping": {"id": client.add_static_mapping(server.mac, server.lan_ip, server.name, descr)},
            "one_to_one_nat": {"id": client.add_one_to_one_nat(server.first_ip, server.lan_ip, descr)},
            "wan_pass_rule": {"id": client.add_wan_pass_rule(server.lan_ip, descr)}}
    server.network_refs = refs
    db.session.commit()
    proxmox.write_file(301, "/root/customer-secret.txt", "the old owner's data")
    proxmox.calls.clear()
    pfsense.calls.clear()
    return server
