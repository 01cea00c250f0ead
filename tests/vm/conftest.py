"""Fixtures of the VM tests: the job and lifecycle fixtures (simulated Proxmox, pfSense, SMTP, sold servers)."""
import pytest

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
