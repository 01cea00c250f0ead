"""Crypto invoices as staff see them: the listing, one invoice's transfers, the watcher's status, the sweep export."""
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from oxnack_admin.clients.bsc_rpc import BscRpcClient
from oxnack_admin.clients.errors import RemoteError
from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import CryptoInvoice, CryptoWatcher, User
from oxnack_admin.services.crypto import node

LISTED = 50
LIVE_HEAD_KEY = "crypto:live_head"
LIVE_TIMEOUT = 2.0  # seconds: a console page never waits long for the node


@dataclass(frozen=True)
class WatcherStatus:
    """The dashboard's view of the watcher: how far it scanned, how far behind the node's head, what failed."""

    last_scanned_block: int | None
    node_head: int | None
    lag: int | None  # confirmed blocks not yet scanned
    passed_at: datetime | None
    checked_at: datetime | None
    last_error: str | None
    chain_mismatch: str | None
    rates: dict | None
    rates_at: datetime | None
    rates_error: str | None
    confirmations: int


def latest(limit: int = LISTED) -> list[tuple[CryptoInvoice, str | None]]:
    """The newest crypto invoices with their transfers and their customer's mail."""
    rows = db.session.execute(select(CryptoInvoice, User.mail).outerjoin(User, User.id == CryptoInvoice.user_id)
                              .options(selectinload(CryptoInvoice.transfers))
                              .order_by(CryptoInvoice.id.desc()).limit(limit)).all()
    return [(invoice, mail) for invoice, mail in rows]


def watcher_status(confirmations: int, *, live: bool = True) -> WatcherStatus:
    """How far the watcher is; its lag is against the node's head now (`live`), so a watcher that stopped shows it."""
    state = db.session.get(CryptoWatcher, node.WATCHER_ROW) or CryptoWatcher()
    heads = [head for head in (state.node_head, live_head() if live else None) if head is not None]
    head = max(heads, default=None)
    confirmed = head - confirmations + 1 if head is not None else None
    lag = (max(confirmed - state.last_scanned_block, 0)
           if confirmed is not None and state.last_scanned_block is not None else None)
    return WatcherStatus(state.last_scanned_block, head, lag, state.passed_at, state.checked_at,
                         state.last_error, state.chain_mismatch, state.rates, state.rates_at, state.rates_error,
                         confirmations)


def live_head() -> int | None:
    """The node's head now, asked at most once per CRYPTO_POLL_SECONDS (kept in Redis); None if it does not answer."""
    config = current_app.config
    if not config.get("CRYPTO_RPC_URL"):
        return None
    cached = redis_client.get(LIVE_HEAD_KEY)
    if cached is not None:
        return None if cached == b"-" else int(cached)
    try:
        head = BscRpcClient(config["CRYPTO_RPC_URL"], timeout=min(float(config["CRYPTO_RPC_TIMEOUT"]), LIVE_TIMEOUT),
                            retries=0).block_number()
    except RemoteError:
        head = None  # the page still shows what the last pass saw
    redis_client.set(LIVE_HEAD_KEY, "-" if head is None else head, ex=max(int(config["CRYPTO_POLL_SECONDS"]), 1))
    return head


def confirmations_of(block_number: int, status: WatcherStatus) -> int | None:
    """Confirmations of a block as of the node's last known head."""
    return None if status.node_head is None else max(status.node_head - block_number + 1, 0)


def address_rows() -> list[tuple[int, str, int]]:
    """(index, address, invoice id) of every address handed out, for the offline wallet that sweeps."""
    return [tuple(row) for row in db.session.execute(
        select(CryptoInvoice.address_index, CryptoInvoice.address, CryptoInvoice.id)
        .order_by(CryptoInvoice.address_index))]
