"""Opening a crypto top-up: the next watch-only address, the amount quoted at the current rate.

The rate source and the node are asked before anything is written, so an address is handed out
only when the watcher can see it; the address index comes from a sequence and is never reused.
"""
from datetime import datetime, timedelta, timezone
from decimal import ROUND_UP, Decimal

from flask import current_app
from sqlalchemy import select

from oxnack_admin.clients.errors import RemoteError
from oxnack_admin.extensions import db
from oxnack_admin.models import CryptoInvoice, User
from oxnack_admin.models.crypto import ADDRESS_INDEX
from oxnack_admin.services.crypto import addresses, node
from oxnack_admin.services.crypto.node import CryptoUnavailable

ASSETS = ("USDT", "BNB")
QUOTE = Decimal("0.000001")  # amount_asset is rounded up to 6 places
WAITING, PAID, PARTIALLY_PAID, EXPIRED = "waiting", "paid", "partially_paid", "expired"
STATES = (WAITING, PAID, PARTIALLY_PAID, EXPIRED)


class BadAsset(ValueError):
    """Not USDT or BNB."""


def asset(value) -> str:
    if value not in ASSETS:
        raise BadAsset("asset must be USDT or BNB")
    return value


def open_invoice(user_id: int, amount: int, asset_name: str) -> CryptoInvoice:
    """Quote `amount` roubles in the asset and hand out the next address; commits. CryptoUnavailable if not now."""
    config = current_app.config
    if not node.enabled():
        raise CryptoUnavailable("crypto top-ups are off (CRYPTO_RPC_URL, CRYPTO_RATE_URL or CRYPTO_XPUB is empty)")
    xpub = node.xpub()
    if db.session.get(User, user_id) is None:
        raise LookupError(f"no user {user_id}")
    db.session.rollback()  # nothing held while the remote systems answer
    rate = node.read_rates()[asset_name]
    try:
        rpc = node.client()
        chain_id = rpc.chain_id()
        head = rpc.block_number()
    except RemoteError as error:
        raise CryptoUnavailable(error.message) from None
    if chain_id != int(config["CRYPTO_CHAIN_ID"]):
        raise CryptoUnavailable(f"the node is on chain {chain_id}, not CRYPTO_CHAIN_ID {config['CRYPTO_CHAIN_ID']}")
    index = db.session.scalar(select(ADDRESS_INDEX.next_value()))
    now = datetime.now(timezone.utc)
    expires = now + timedelta(minutes=float(config["CRYPTO_RATE_MINUTES"]))
    invoice = CryptoInvoice(user_id=user_id, asset=asset_name, address_index=index,
                            address=addresses.address_at(xpub, index), amount_rub=Decimal(amount),
                            amount_asset=(Decimal(amount) / rate).quantize(QUOTE, rounding=ROUND_UP), rate=rate,
                            start_block=head, state=WAITING, received_asset=Decimal(0), credited_rub=Decimal(0),
                            created_at=now, expires_at=expires,
                            watch_until=expires + timedelta(hours=float(config["CRYPTO_WATCH_HOURS"])))
    db.session.add(invoice)
    db.session.commit()
    return invoice


def find_for(user_id: int, invoice_id) -> CryptoInvoice | None:
    """The customer's own invoice by id, else None (a foreign one is as unknown as a missing one)."""
    try:
        number = int(invoice_id)
    except (TypeError, ValueError):
        return None
    if not 0 < number < 2 ** 31:
        return None
    invoice = db.session.get(CryptoInvoice, number)
    return invoice if invoice is not None and invoice.user_id == user_id else None


def state_of(invoice: CryptoInvoice, now: datetime | None = None) -> str:
    """paid once the quoted amount arrived (even late), partially_paid for less, else waiting or expired."""
    received = invoice.received_asset or Decimal(0)
    if received >= invoice.amount_asset:
        return PAID
    if received > 0:
        return PARTIALLY_PAID
    return EXPIRED if (now or datetime.now(timezone.utc)) >= invoice.expires_at else WAITING


def decimal_text(amount: Decimal, places: int | None = None) -> str:
    """A plain decimal string (never exponent notation): `places` fixed, else trailing zeros dropped."""
    amount = Decimal(amount or 0)
    if places is not None:
        return format(amount.quantize(Decimal(1).scaleb(-places)), "f")
    text = format(amount, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def as_json(invoice: CryptoInvoice) -> dict:
    """GET /crypto_invoice's answer."""
    return {"status": "good", "invoice_id": invoice.id, "asset": invoice.asset, "address": invoice.address,
            "amount_asset": decimal_text(invoice.amount_asset), "received_asset": decimal_text(invoice.received_asset),
            "credited": decimal_text(invoice.credited_rub, 2), "state": state_of(invoice),
            "expires_at": iso(invoice.expires_at)}


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
