"""Fixtures of the crypto tests: a loopback BSC node (and its rate source) the app's real clients talk to."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import CryptoInvoice, Transaction, User
from oxnack_admin.models.enums import TransactionStatus, TransactionType
from oxnack_admin.services.crypto import watcher
from oxnack_admin.simulator.bsc_node import BscNodeSimulator
from tests.crypto.test_derivation import account
from tests.jobs.conftest import job_config, pfsense, pool, proxmox, smtp, work  # noqa: F401  (the resume test's)
from tests.lifecycle.conftest import sold, templates  # noqa: F401
from tests.support.config import config_overrides
from tests.support.customers import login_cookie
from tests.support.factories import make_user

XPUB = account().PublicKey().ToExtended()  # from the BIP-39 test mnemonic: nobody's money
RATES = {"USDT": 92.5, "BNB": 61000.0}


@pytest.fixture
def chain(app):
    """The node and rate source, with the app configured to use them (3 confirmations, no retries)."""
    with BscNodeSimulator(chain_id=56, start_block=1000, rates=RATES) as node, config_overrides(app) as set_config:
        set_config(CRYPTO_RPC_URL=node.url, CRYPTO_RATE_URL=node.url + "/rates", CRYPTO_XPUB=XPUB,
                   CRYPTO_CHAIN_ID=56, CRYPTO_CONFIRMATIONS=3, CRYPTO_RPC_RETRIES=0, CRYPTO_RPC_RETRY_BACKOFF=0,
                   CRYPTO_RPC_TIMEOUT=3, CRYPTO_RATE_MINUTES=15, CRYPTO_WATCH_HOURS=24, CRYPTO_MAX_BLOCK_RANGE=5000,
                   REF_SHARE=0.0)
        node.set_config = set_config
        yield node


@pytest.fixture
def customer(app, client):
    """A verified customer signed in on `client`."""
    user = make_user("crypto@example.com", username="cryptopayer")
    login_cookie(client, user)
    return user


@pytest.fixture
def open_crypto(client, customer, chain):
    """open_crypto(amount, asset) → the CryptoInvoice of a POST /create_crypto_invoice that answered 201."""
    def create(amount: int = 925, asset: str = "USDT") -> CryptoInvoice:
        response = client.post("/create_crypto_invoice", json={"amount": amount, "asset": asset})
        assert response.status_code == 201, response.get_data(as_text=True)
        db.session.expire_all()
        return db.session.get(CryptoInvoice, response.json["invoice_id"])

    return create


def watch() -> watcher.PassResult:
    """One watcher pass, as the job runs it."""
    result = watcher.run_pass()
    db.session.expire_all()
    return result


def credits_of(user_id: int) -> list[Decimal]:
    """The user's CONFIRMED top-up rows, oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(select(Transaction.amount).where(
        Transaction.user_id == user_id, Transaction.type == TransactionType.TOP_UP,
        Transaction.status == TransactionStatus.CONFIRMED).order_by(Transaction.id)))


def balance_of(user_id: int) -> Decimal:
    db.session.expire_all()
    return db.session.scalar(select(func.coalesce(User.balance, 0)).where(User.id == user_id))
