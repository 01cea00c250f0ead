"""Fixtures of the payment tests: the Platega simulator on loopback, calling back the app over real HTTP."""
import pytest
from sqlalchemy import text

from oxnack_admin.extensions import db
from oxnack_admin.models import Invoice
from oxnack_admin.simulator.platega import PlategaSimulator
from tests.support.config import config_overrides
from tests.support.customers import login_cookie
from tests.support.factories import make_user

MERCHANT_ID = "merchant-test-1"
SECRET = "secret-test-1"

UNBALANCED_USERS = text(
    "SELECT u.id, u.balance, COALESCE(SUM(t.amount) FILTER (WHERE t.status = 'CONFIRMED'), 0) AS booked"
    " FROM users u LEFT JOIN transactions t ON t.user_id = u.id GROUP BY u.id, u.balance"
    " HAVING u.balance IS DISTINCT FROM COALESCE(SUM(t.amount) FILTER (WHERE t.status = 'CONFIRMED'), 0)")


def unbalanced_users() -> list:
    db.session.rollback()
    return [tuple(row) for row in db.session.execute(UNBALANCED_USERS)]


@pytest.fixture(autouse=True)
def ledger_invariant(app):
    """After every payment test: each user's balance is the sum of their CONFIRMED ledger rows."""
    yield
    assert unbalanced_users() == []


@pytest.fixture
def pay_config(app):
    """Set app config for this test; every key is restored afterwards."""
    with config_overrides(app) as set_config:
        yield set_config


@pytest.fixture
def platega(pay_config, live_server_url):
    """A Platega simulator the app's real client talks to; its callbacks reach the app over HTTP."""
    simulator = PlategaSimulator(MERCHANT_ID, SECRET, callback_url=f"{live_server_url}/platega/callback").start()
    pay_config(PLATEGA_URL=simulator.url, PLATEGA_MERCHANT_ID=MERCHANT_ID, PLATEGA_SECRET=SECRET,
               PLATEGA_TIMEOUT=3, PLATEGA_RETRIES=2, PLATEGA_RETRY_BACKOFF=0, PLATEGA_CALLBACK_TIMEOUT=3,
               PLATEGA_RETURN_URL="", PLATEGA_FAILED_URL="", REF_SHARE=0.0, TOPUP_PENDING_HOURS=24)
    yield simulator
    simulator.stop()


@pytest.fixture
def customer(app, client):
    """A verified customer signed in on `client`."""
    user = make_user("payer@example.com", username="payer")
    login_cookie(client, user)
    return user


@pytest.fixture
def open_invoice(client, customer, platega):
    """open_invoice(amount) → the Invoice row of a POST /create_invoice that answered 201."""
    def create(amount: int = 500) -> Invoice:
        response = client.post("/create_invoice", json={"amount": amount})
        assert response.status_code == 201, response.get_data(as_text=True)
        db.session.expire_all()
        return db.session.query(Invoice).filter_by(gateway_id=response.json["transaction_id"]).one()

    return create


def callback_headers(merchant_id: str = MERCHANT_ID, secret: str = SECRET) -> dict:
    return {"X-MerchantId": merchant_id, "X-Secret": secret}
