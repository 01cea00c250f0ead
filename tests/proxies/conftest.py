"""Fixtures of the proxy resale tests: the loopback upstream, a stocked inventory, the app on real HTTP.

The upstream is `oxnack_admin.simulator.socks_upstream` on an ephemeral port, spoken to by the
real client; concurrency tests go through the real endpoints of the app served by werkzeug.
"""
import threading
from decimal import Decimal

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from oxnack_admin.extensions import db
from oxnack_admin.models import ProxyInventory, Transaction, User
from oxnack_admin.models.enums import TransactionStatus
from oxnack_admin.services.proxies import sync
from oxnack_admin.services.staff import api_tokens
from oxnack_admin.simulator.socks_upstream import SocksUpstreamSimulator
from tests.support.config import config_overrides
from tests.support.customers import COOKIE, sign_in
from tests.support.factories import make_staff, make_user

PRICE_RUB = Decimal("180.00")  # SOCKS_PRICE 2.00 x USD_RUB_RATE 90.00
SETTINGS = {"SOCKS_API_TIMEOUT": 2, "SOCKS_API_RETRIES": 1, "SOCKS_PRICE": Decimal("2.00"),
            "USD_RUB_RATE": Decimal("90.00"), "SOCKS_REFUND_MINUTES": 60, "SOCKS_SYNC_PAGE_SIZE": 50,
            "SOCKS_SETTLE_AFTER_MINUTES": 10}


@pytest.fixture
def settings(app):
    """Set app config for this test; every key is restored afterwards."""
    with config_overrides(app, **SETTINGS) as set_config:
        yield set_config


@pytest.fixture
def upstream(settings):
    """The upstream simulator, empty, with the app pointed at it."""
    simulator = SocksUpstreamSimulator(token="test-upstream-token").start()
    settings(SOCKS_API_URL=simulator.api_url, SOCKS_API_TOKEN=simulator.token)
    yield simulator
    simulator.stop()


@pytest.fixture
def stock(app, upstream):
    """stock(n, country) -> inventory rows: n online proxies added upstream, then one sync."""
    def add(count: int = 5, country: str = "US", **fields) -> list[ProxyInventory]:
        ids = [upstream.add_proxy(country, **fields)["proxy_id"] for _ in range(count)]
        run = sync.sync_now()
        assert run.state == "done", run.error
        return list(db.session.scalars(select(ProxyInventory).where(ProxyInventory.upstream_id.in_(ids))
                                       .order_by(ProxyInventory.id)))

    return add


@pytest.fixture
def live(app):
    """The app served over real HTTP on an ephemeral port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def customer(balance=Decimal(0), mail: str | None = None) -> tuple[User, str]:
    """A verified customer with this balance (through the ledger) and a session token."""
    user = make_user(mail, balance=balance)
    return user, sign_in(user)


def http(base: str, token: str) -> requests.Session:
    session = requests.Session()
    session.cookies.set(COOKIE, token)
    session.base = base
    return session


def staff_token(role: str = "admin") -> str:
    staff = make_staff(role)
    _, token = api_tokens.issue(staff, "tests")
    db.session.commit()
    return token


def balance(user_id: int) -> Decimal:
    db.session.expire_all()
    return db.session.scalar(select(User.balance).where(User.id == user_id))


def assert_ledger_balanced() -> None:
    """The ledger invariant for every user: balance == SUM(CONFIRMED rows)."""
    db.session.expire_all()
    confirmed = (select(func.coalesce(func.sum(Transaction.amount), 0)).where(
        Transaction.user_id == User.id, Transaction.status == TransactionStatus.CONFIRMED).scalar_subquery())
    off = db.session.execute(select(User.id, User.balance, confirmed).where(User.balance != confirmed)).all()
    assert off == [], f"balance != ledger for {off}"
