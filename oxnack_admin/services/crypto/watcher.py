"""The crypto watcher: one pass reads confirmed blocks since the last one scanned and credits what arrived.

Never two passes at once (a PostgreSQL advisory lock). A pass checks `eth_chainId`, reads the
head, and treats as final only blocks with CRYPTO_CONFIRMATIONS (`head - number + 1 >= N`). USDT
logs to watched addresses are recorded range by range (at most CRYPTO_MAX_BLOCK_RANGE blocks),
the last scanned block moving in the same commit as the logs it covered; BNB balances are read
at the last confirmed block and an increase over what was recorded is one more transfer. Then
every recorded transfer not yet credited is credited. A node that is down, errs, is on another
chain or answers a head below one it answered before makes the pass stop before recording
anything it said: nothing is credited and nothing is skipped.
"""
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from oxnack_admin.clients.bsc_rpc import BscRpcClient
from oxnack_admin.clients.errors import RemoteError
from oxnack_admin.extensions import db
from oxnack_admin.models import CryptoInvoice, CryptoTransfer
from oxnack_admin.services.crypto import alerts, crediting, node
from oxnack_admin.services.crypto.node import CryptoUnavailable
from oxnack_admin.services.ops import advisory_locks

log = logging.getLogger(__name__)
ADDRESSES_PER_QUERY = 200  # topic filters stay small enough for any node
WEI = Decimal(10) ** 18
AFTER_THE_WATCH = "arrived after the invoice's watch (CRYPTO_WATCH_HOURS): kept for staff, never credited"


class NodeUnusable(Exception):
    """The node cannot be trusted this pass (down, erring, another chain, an older head)."""


@dataclass
class PassResult:
    """What one pass did: `outcome` is done, busy (another pass runs), off or failed."""

    outcome: str
    detail: str = ""
    recorded: int = 0
    credited: list[Decimal] = field(default_factory=list)


def run_pass() -> PassResult:
    """One watcher pass, unless another is running; never raises for the node's failures."""
    with advisory_locks.try_exclusive(advisory_locks.CRYPTO_WATCHER, 0) as ours:
        if not ours:
            return PassResult("busy", "another watcher pass is running")
        if not current_app.config.get("CRYPTO_RPC_URL"):
            return PassResult("off", "CRYPTO_RPC_URL is empty")
        try:
            return _pass(node.client())
        except NodeUnusable as error:
            _remember_failure(str(error))
            return PassResult("failed", str(error))
        except RemoteError as error:
            db.session.rollback()
            _remember_failure(error.message)
            return PassResult("failed", error.message)


def _pass(rpc: BscRpcClient) -> PassResult:
    config = current_app.config
    db.session.rollback()
    result = PassResult("done")
    chain_id = rpc.chain_id()
    if chain_id != int(config["CRYPTO_CHAIN_ID"]):
        _chain_mismatch(chain_id)
    head = rpc.block_number()
    state = node.watcher_state(lock=True)
    state.checked_at, state.node_head, state.chain_id, state.chain_mismatch = _now(), head, chain_id, None
    if state.highest_head is not None and head < state.highest_head:
        db.session.commit()
        raise NodeUnusable(f"the node answers head {head}, below {state.highest_head} it answered before: "
                           "nothing is read from it until it catches up")
    state.highest_head = head
    decimals = rpc.decimals(config["CRYPTO_USDT_CONTRACT"])
    state.usdt_decimals = decimals
    db.session.commit()
    confirmed = head - int(config["CRYPTO_CONFIRMATIONS"]) + 1
    result.recorded += _scan_usdt(rpc, confirmed, decimals)
    result.recorded += _read_bnb_balances(rpc, confirmed)
    result.credited = _credit_recorded()
    state = node.watcher_state(lock=True)
    state.passed_at, state.last_error = _now(), None
    db.session.commit()
    return result


def _scan_usdt(rpc: BscRpcClient, confirmed: int, decimals: int) -> int:
    """Record USDT logs of confirmed blocks since the last scanned, range by range; how many were new."""
    config = current_app.config
    step = max(1, min(int(config["CRYPTO_MAX_BLOCK_RANGE"]), 5000))
    recorded = 0
    last = node.watcher_state().last_scanned_block
    if last is None:  # the first pass: from the oldest address handed out (nothing before it can be ours)
        oldest = db.session.scalar(select(func.min(CryptoInvoice.start_block)))
        last = (oldest if oldest is not None else confirmed + 1) - 1
    db.session.rollback()
    while last < confirmed:
        first, end = last + 1, min(last + step, confirmed)
        watched = _watched_usdt(rpc.block_time(first), end)
        logs = []
        for start in range(0, len(watched), ADDRESSES_PER_QUERY):
            chunk = list(watched)[start:start + ADDRESSES_PER_QUERY]
            logs += rpc.transfers_to(config["CRYPTO_USDT_CONTRACT"], chunk, first, end)
        times = {number: rpc.block_time(number) for number in {entry.block_number for entry in logs}}
        state = node.watcher_state(lock=True)
        if state.last_scanned_block is not None and state.last_scanned_block >= end:
            db.session.rollback()  # recorded by a pass that ran before ours took the lock
        else:
            for entry in logs:
                invoice_id = watched.get(entry.to_address)
                if entry.removed or invoice_id is None or not first <= entry.block_number <= end:
                    continue  # a re-orged log never counts
                recorded += _record(invoice_id, tx_hash=entry.tx_hash, log_index=entry.log_index,
                                    block_number=entry.block_number, block_time=times[entry.block_number],
                                    amount_asset=Decimal(entry.raw_amount) / Decimal(10) ** decimals)
            state.last_scanned_block = end
            db.session.commit()
        last = end
    return recorded


def _watched_usdt(since: datetime, up_to_block: int) -> dict[str, int]:
    """Lower-case address -> invoice id of USDT invoices whose watch had not ended by `since`."""
    rows = db.session.execute(select(CryptoInvoice.address, CryptoInvoice.id).where(
        CryptoInvoice.asset == "USDT", CryptoInvoice.watch_until >= since,
        CryptoInvoice.start_block <= up_to_block)).all()
    db.session.rollback()
    return {address.lower(): invoice_id for address, invoice_id in rows}


def _read_bnb_balances(rpc: BscRpcClient, confirmed: int) -> int:
    """An increase of a watched BNB address's balance at the last confirmed block is one more transfer."""
    if confirmed < 0:
        return 0
    seen_at = rpc.block_time(confirmed)
    rows = db.session.execute(select(CryptoInvoice.id, CryptoInvoice.address).where(
        CryptoInvoice.asset == "BNB", CryptoInvoice.watch_until >= seen_at - _poll_slack(),
        CryptoInvoice.start_block <= confirmed)).all()
    db.session.rollback()
    recorded = 0
    for invoice_id, address in rows:
        balance = Decimal(rpc.balance(address, confirmed)) / WEI
        known = db.session.scalar(select(func.coalesce(func.max(CryptoTransfer.balance_total), 0))
                                  .where(CryptoTransfer.invoice_id == invoice_id))
        if balance > known:
            recorded += _record(invoice_id, balance_total=balance, block_number=confirmed, block_time=seen_at,
                                amount_asset=balance - known)
            db.session.commit()
        else:
            db.session.rollback()  # a lower balance (a node behind, or a sweep) is never a negative credit
    return recorded


def _record(invoice_id: int, **transfer) -> int:
    """Insert one transfer unless it is known; 1 if it was new (caller commits)."""
    invoice = db.session.get(CryptoInvoice, invoice_id)
    late = AFTER_THE_WATCH if transfer["block_time"] > invoice.watch_until else None
    inserted = db.session.execute(
        insert(CryptoTransfer).values(invoice_id=invoice_id, chain_id=int(current_app.config["CRYPTO_CHAIN_ID"]),
                                      asset=invoice.asset, note=late, **transfer)
        .on_conflict_do_nothing().returning(CryptoTransfer.id)).scalar_one_or_none()
    if inserted is None:
        return 0
    crediting.refresh_received(invoice_id)
    return 1


def _credit_recorded() -> list[Decimal]:
    rates: dict[str, Decimal] | None = None
    failed = False

    def current_rate(asset: str) -> Decimal | None:
        nonlocal rates, failed
        if rates is None and not failed:
            try:
                rates = node.read_rates()
            except CryptoUnavailable:
                failed = True
        return rates.get(asset) if rates else None

    credited = []
    for transfer_id in crediting.creditable_ids():
        roubles = crediting.credit_transfer(transfer_id, current_rate)
        if roubles is not None:
            credited.append(roubles)
    db.session.rollback()
    return credited


def _chain_mismatch(chain_id: int) -> None:
    expected = current_app.config["CRYPTO_CHAIN_ID"]
    message = f"the node is on chain {chain_id}, not CRYPTO_CHAIN_ID {expected}: crediting stopped"
    state = node.watcher_state(lock=True)
    if state.chain_mismatch != message:
        alerts.alert_staff(alerts.CHAIN_MISMATCH, message)
    state.chain_mismatch, state.chain_id, state.checked_at = message, chain_id, _now()
    db.session.commit()
    raise NodeUnusable(message)


def _remember_failure(message: str) -> None:
    db.session.rollback()
    state = node.watcher_state(lock=True)
    state.last_error, state.checked_at = message, _now()
    db.session.commit()
    log.warning("crypto watcher: %s", message)


def _poll_slack():
    # An address whose watch ended between two passes still gets its last balance read.
    return timedelta(seconds=2 * int(current_app.config["CRYPTO_POLL_SECONDS"]))


def _now() -> datetime:
    return datetime.now(timezone.utc)
