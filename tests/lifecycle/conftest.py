"""Fixtures of the lifecycle tests: the job fixtures, OS templates in the simulated node, sold servers."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import Server, Transaction, User
from oxnack_admin.models.enums import LifecycleState, TransactionStatus
from tests.jobs.conftest import job_config, pfsense, pool, proxmox, smtp, work  # noqa: F401
from tests.support.factories import make_server

TEMPLATE_FILES = {"/etc/os-release": "Ubuntu 24.04 LTS (template)"}


@pytest.fixture(autouse=True)
def templates(request, app):
    """Every OS template of the configuration exists in the simulated node (when the test has one)."""
    if "proxmox" not in request.fixturenames:
        return
    simulator = request.getfixturevalue("proxmox")
    for template in app.config["OS_TEMPLATES"].values():
        simulator.add_template(int(template["template_vmid"]), files=TEMPLATE_FILES, disk_gb=app.config["MIN_HDD"])


@pytest.fixture
def sold(app, proxmox):
    """sold(owner, vmid, paid_until) → a rented server (2 cores, 2 GB, 20 GB), running in the node."""
    def make(owner: User, vmid: int = 301, paid_until: datetime | None = None, status: str = "on", **columns) -> Server:
        paid_until = paid_until or datetime.now(timezone.utc) + timedelta(days=10)
        server = make_server(vmid, busy=True, username=owner.username, cores=2, ram=2, hdd=20, status=status,
                             rented_at=paid_until - timedelta(days=30), paid_until=paid_until,
                             lifecycle_state=LifecycleState.ACTIVE, mac=f"52:54:00:00:01:{vmid % 256:02x}",
                             name=f"{vmid}-{owner.username}", passwd="OldOwnerPw1", **columns)
        proxmox.add_vm(vmid, name=server.name, cores=2, memory=2048, disk_gb=20,
                       status="running" if status == "on" else "stopped")
        return server

    return make


def confirmed_sum(user_id: int) -> Decimal:
    return db.session.scalar(select(func.coalesce(func.sum(Transaction.amount), 0)).where(
        Transaction.user_id == user_id, Transaction.status == TransactionStatus.CONFIRMED))


def assert_every_ledger_consistent() -> None:
    """For every user: balance == the sum of their CONFIRMED ledger rows."""
    db.session.expire_all()
    users = db.session.scalars(select(User)).all()
    assert users
    for user in users:
        assert user.balance == confirmed_sum(user.id), f"user {user.id}"


def reload(model, key):
    db.session.expire_all()
    return db.session.get(model, key)
