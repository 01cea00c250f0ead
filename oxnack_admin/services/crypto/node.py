"""The remote systems of crypto top-ups: the BSC node and the rate source, and what they last said."""
import logging
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from sqlalchemy.dialects.postgresql import insert

from oxnack_admin.clients import crypto_rates
from oxnack_admin.clients.bsc_rpc import BscRpcClient
from oxnack_admin.clients.errors import RemoteError
from oxnack_admin.extensions import db
from oxnack_admin.models import CryptoWatcher
from oxnack_admin.services.crypto import addresses

log = logging.getLogger(__name__)
WATCHER_ROW = 1
# Rates are stored to 8 places (models.crypto RATE): quote and credit with the rate as stored, or paying
# exactly the quote could credit a kopeck less than the amount asked.
RATE_PLACES = Decimal("0.00000001")


class CryptoUnavailable(Exception):
    """Crypto top-ups cannot be offered now (off, misconfigured, node or rate source down); `reason` is for staff."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def enabled() -> bool:
    """Whether crypto top-ups are configured at all (a node, a rate source and an xpub)."""
    config = current_app.config
    return bool(config.get("CRYPTO_RPC_URL") and config.get("CRYPTO_RATE_URL") and config.get("CRYPTO_XPUB"))


def xpub() -> str:
    """CRYPTO_XPUB, checked (CryptoUnavailable when it is not a usable account xpub)."""
    value = current_app.config.get("CRYPTO_XPUB") or ""
    try:
        addresses.account_key(value)
    except addresses.BadXpub as error:
        raise CryptoUnavailable(str(error)) from None
    return value


def client() -> BscRpcClient:
    return BscRpcClient.from_config(current_app.config)


def watcher_state(*, lock: bool = False) -> CryptoWatcher:
    """The watcher's one row (made on first use); `lock` holds it for this transaction."""
    db.session.execute(insert(CryptoWatcher).values(id=WATCHER_ROW).on_conflict_do_nothing(index_elements=["id"]))
    query = db.session.query(CryptoWatcher).filter_by(id=WATCHER_ROW).populate_existing()
    return (query.with_for_update() if lock else query).one()


def read_rates() -> dict[str, Decimal]:
    """Roubles per unit now, from CRYPTO_RATE_URL; the answer (or the failure) is kept for staff. Commits."""
    config = current_app.config
    try:
        rates, answer = crypto_rates.current_rates(config.get("CRYPTO_RATE_URL") or "", config["CRYPTO_RATE_TIMEOUT"])
    except RemoteError as error:
        state = watcher_state(lock=True)
        state.rates_error = error.message
        db.session.commit()
        log.warning("crypto rates unavailable: %s", error.message)
        raise CryptoUnavailable(error.message) from None
    state = watcher_state(lock=True)
    state.rates, state.rates_at, state.rates_error = answer, datetime.now(timezone.utc), None
    db.session.commit()
    return {asset: rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP) for asset, rate in rates.items()}
