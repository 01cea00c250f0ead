"""Crypto top-ups: invoices with a watch-only deposit address, the transfers credited, the watcher's state."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, DateTime, ForeignKey, Index, Integer, Numeric, Sequence, Text, UniqueConstraint,
                        func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .customers import User

# One sequence of address indexes for both assets, from 0: a number taken is never reused, even by a rollback.
ADDRESS_INDEX = Sequence("crypto_address_index_seq", start=0, minvalue=0, metadata=db.metadata)
ASSET_AMOUNT = Numeric(38, 18)  # both USDT (BEP-20) and BNB have 18 decimals on BSC
RATE = Numeric(20, 8)


class CryptoInvoice(db.Model):
    """A customer's crypto top-up: an address, the quoted amount and rate, what arrived and was credited."""

    __tablename__ = "crypto_invoices"
    __table_args__ = (Index("ix_crypto_invoices_watched", "asset", "watch_until"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    asset: Mapped[str] = mapped_column(Text)  # USDT or BNB
    address_index: Mapped[int] = mapped_column(BigInteger, unique=True)  # i of m/44'/60'/0'/0/i
    address: Mapped[str] = mapped_column(Text, unique=True)  # EIP-55
    amount_rub: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    amount_asset: Mapped[Decimal] = mapped_column(ASSET_AMOUNT)  # quoted, rounded up to 6 places
    rate: Mapped[Decimal] = mapped_column(RATE)  # roubles per unit when quoted
    start_block: Mapped[int] = mapped_column(BigInteger)  # the node's head when the address was handed out
    state: Mapped[str] = mapped_column(Text, server_default=text("'waiting'"))  # waiting, paid, partially_paid, expired
    received_asset: Mapped[Decimal] = mapped_column(ASSET_AMOUNT, server_default=text("0"))
    credited_rub: Mapped[Decimal] = mapped_column(Numeric(12, 2), server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the quote holds until then
    watch_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # late payments count until then

    user: Mapped[User | None] = relationship()
    transfers: Mapped[list["CryptoTransfer"]] = relationship(back_populates="invoice", order_by="CryptoTransfer.id")


class CryptoTransfer(db.Model):
    """What reached an invoice's address: one USDT log, or one increase of the BNB balance. Credited once."""

    __tablename__ = "crypto_transfers"
    __table_args__ = (
        UniqueConstraint("chain_id", "tx_hash", "log_index", name="uq_crypto_transfers_log"),
        # A BNB increase is keyed by the balance it brought the address to: seen twice, it is one row.
        Index("uq_crypto_transfers_balance", "chain_id", "invoice_id", "balance_total", unique=True,
              postgresql_where=text("tx_hash IS NULL")),
        Index("ix_crypto_transfers_uncredited", "id", postgresql_where=text("credited_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("crypto_invoices.id", ondelete="CASCADE"), index=True)
    chain_id: Mapped[int] = mapped_column(Integer)
    asset: Mapped[str] = mapped_column(Text)
    tx_hash: Mapped[str | None] = mapped_column(Text)  # USDT: the log's transaction
    log_index: Mapped[int | None] = mapped_column(Integer)
    balance_total: Mapped[Decimal | None] = mapped_column(ASSET_AMOUNT)  # BNB: the address's balance after it
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    amount_asset: Mapped[Decimal] = mapped_column(ASSET_AMOUNT)
    rate: Mapped[Decimal | None] = mapped_column(RATE)  # the rate it was credited at
    credited_rub: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    ledger_row_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)  # why it is not credited (yet)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    credited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    invoice: Mapped[CryptoInvoice] = relationship(back_populates="transfers")


class CryptoWatcher(db.Model):
    """The watcher's one row: how far it scanned, what the node and the rate source last said."""

    __tablename__ = "crypto_watcher"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    last_scanned_block: Mapped[int | None] = mapped_column(BigInteger)  # every log up to here is recorded
    node_head: Mapped[int | None] = mapped_column(BigInteger)  # the node's last answer to eth_blockNumber
    highest_head: Mapped[int | None] = mapped_column(BigInteger)  # the highest head it ever answered
    usdt_decimals: Mapped[int | None] = mapped_column(Integer)
    chain_id: Mapped[int | None] = mapped_column(Integer)  # what eth_chainId last answered
    chain_mismatch: Mapped[str | None] = mapped_column(Text)  # set while the node is on another chain
    last_error: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    passed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the last pass that finished
    rates: Mapped[dict | None] = mapped_column(JSONB)  # the rate source's last answer
    rates_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rates_error: Mapped[str | None] = mapped_column(Text)
