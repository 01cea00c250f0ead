"""A VM order: price it, take the money, claim a pool VM, and hand it to provisioning, all at once.

Everything happens in ONE database transaction, in this order: lock the promocode (if any),
debit the balance with a conditional UPDATE (which also locks the customer's row, so one
customer's orders run one after another), claim a free pool VM with FOR UPDATE SKIP LOCKED,
write the sale, count the promo use, open the provisioning run. Any failure rolls all of it
back; the provisioning job is enqueued only after the commit.

Money is checked before the pool: a customer who cannot pay gets "small balance" even when
the pool is empty, and never holds a pool VM locked while waiting on their own balance.
"""
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import ProvisioningRun, Server, Transaction, User
from oxnack_admin.models.enums import TransactionType
from oxnack_admin.services.fleet import states
from oxnack_admin.services.fleet.states import Actor, Event
from oxnack_admin.services.lifecycle import clock
from oxnack_admin.services.money import ledger, pricing, promocodes
from oxnack_admin.services.orders import catalogue
from oxnack_admin.services.provisioning import runs as provisioning_runs
from oxnack_admin.services.money.ledger import InsufficientFunds  # noqa: F401  (callers catch it from here)
from oxnack_admin.services.money.pricing import Shape

MAC_PREFIX = "52:54:00"  # the locally administered prefix QEMU/KVM uses


class OrderError(Exception):
    """An order refused before any money moved."""


class UnknownOS(OrderError):
    pass


class UnknownCountry(OrderError):
    pass


class OutsideLimits(OrderError):
    pass


class PoolEmpty(OrderError):
    """No free pool VM of that system (and country) right now."""


class AccountBlocked(OrderError):
    pass


@dataclass(frozen=True)
class Order:
    shape: Shape
    os: str
    promo: str | None = None  # as the customer typed it; "NOT" or None for none
    country: str | None = None  # None: any country


@dataclass(frozen=True)
class PlacedOrder:
    server: Server
    run: ProvisioningRun
    transaction: Transaction
    price: Decimal
    discount: int


def check_order(order: Order) -> None:
    """Raise OutsideLimits, UnknownOS or UnknownCountry for an order that cannot be sold."""
    if not pricing.within_limits(order.shape):
        raise OutsideLimits()
    if order.os not in catalogue.operating_systems():
        raise UnknownOS(order.os)
    if order.country is not None and order.country not in catalogue.countries():
        raise UnknownCountry(order.country)


def place_order(user: User, order: Order) -> PlacedOrder:
    """Sell a pool VM to `user` and queue its provisioning. Commits, or rolls back and raises.

    Raises OrderError subclasses or InsufficientFunds.
    """
    check_order(order)
    if user.is_blocked:
        raise AccountBlocked()
    try:
        promo = promocodes.lock_for_order(order.promo, user.id)
        quote = pricing.quote(order.shape, promo.discount if promo else 0)
        transaction = ledger.move_money(user.id, -quote.price, TransactionType.ORDER, "server order")
        server = claim_pool_vm(order.os, order.country)
        if server is None:
            raise PoolEmpty(order.os)
        _sell(server, user, order)
        transaction.server_id = server.id
        transaction.discription = (f"server {server.id}: {order.shape.cores} cores, {order.shape.ram} GB RAM, "
                                   f"{order.shape.hdd} GB disk, {order.os}")
        if promo is not None:
            promocodes.record_use(promo, user.id, server_id=server.id, transaction_id=transaction.id)
        run = provisioning_runs.open_run(server, user, cores=order.shape.cores, ram=order.shape.ram,
                                         hdd=order.shape.hdd, os=order.os, price=quote.price,
                                         promo=promo.promo if promo else None, order_transaction_id=transaction.id)
        provisioning_runs.schedule(run)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return PlacedOrder(server=server, run=run, transaction=transaction, price=quote.price, discount=quote.discount)


def claim_pool_vm(os_name: str, country: str | None = None) -> Server | None:
    """Lock the first free pool VM of this system; concurrent claimers skip it and take the next."""
    query = (select(Server).where(Server.os == os_name, ~Server.busy, Server.attention.is_(None))
             .order_by(Server.id).limit(1).with_for_update(skip_locked=True))
    if country is not None:
        query = query.where(func.coalesce(Server.country, catalogue.default_country()) == country)
    return db.session.scalar(query)


def new_mac() -> str:
    """A random MAC in the KVM range that no other server row has."""
    for _ in range(8):
        mac = MAC_PREFIX + "".join(f":{byte:02x}" for byte in secrets.token_bytes(3))
        if db.session.scalar(select(Server.id).where(func.lower(Server.mac) == mac)) is None:
            return mac
    raise RuntimeError("could not find a free MAC address")


def _sell(server: Server, user: User, order: Order) -> None:
    now = clock.now()  # the rental's clock: the billing cycle reads the period end with it
    states.move(server, Event.SELL, Actor.CUSTOMER)
    server.busy = True
    server.username = user.username
    server.cores, server.ram, server.hdd = order.shape.cores, order.shape.ram, order.shape.hdd
    server.discription = f"promocode: {promocodes.normalize(order.promo) or 'NOT'}"  # the legacy note
    server.mac = new_mac()
    server.name = f"{server.id}-{user.username}"
    server.country = order.country or server.country or catalogue.default_country()
    server.rented_at = now
    server.paid_until = now + timedelta(days=current_app.config["RENTAL_DAYS"])
    server.auto_renew, server.reminded_days = True, None
    db.session.flush()
