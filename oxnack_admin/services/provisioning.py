"""Provisioning runs: opened by an order, carried out step by step by `jobs.provisioning`."""
from decimal import Decimal

from ..extensions import db
from ..models import ProvisioningRun, ProvisioningStep, Server, User
from ..models.enums import PROVISIONING_STEPS
from . import queueing


def open_run(server: Server, user: User, *, cores: int, ram: int, hdd: int, os: str, price: Decimal,
             promo: str | None, order_transaction_id: int | None) -> ProvisioningRun:
    """Record a run with every step pending, in the caller's transaction."""
    run = ProvisioningRun(server_id=server.id, user_id=user.id, cores=cores, ram=ram, hdd=hdd, os=os,
                          price=price, promo=promo, order_transaction_id=order_transaction_id,
                          steps=[ProvisioningStep(position=i, name=name) for i, name in enumerate(PROVISIONING_STEPS)])
    db.session.add(run)
    db.session.flush()
    return run


def schedule(run: ProvisioningRun) -> None:
    """Queue the run's job once the order commits."""
    queueing.enqueue_after_commit(queueing.PROVISIONING, "jobs.provisioning.provision_server", run.id)
