"""Crypto top-ups: invoices with a watch-only address, the transfers credited, the watcher's state.

- crypto_address_index_seq: one sequence of address indexes for both assets, from 0, never reused.
- crypto_transfers is unique on chain id + transaction hash + log index (USDT logs) and on
  chain id + invoice + balance reached (BNB increases): a payment is recorded, and credited, once.

Revision ID: 0015_crypto
Revises: 0014_telegram
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015_crypto"
down_revision = "0014_telegram"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade():
    op.execute("CREATE SEQUENCE crypto_address_index_seq MINVALUE 0 START WITH 0")
    op.create_table(
        "crypto_invoices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("asset", sa.Text(), nullable=False),
        sa.Column("address_index", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("address", sa.Text(), nullable=False, unique=True),
        sa.Column("amount_rub", sa.Numeric(12, 2), nullable=False),
        sa.Column("amount_asset", sa.Numeric(38, 18), nullable=False),
        sa.Column("rate", sa.Numeric(20, 8), nullable=False),
        sa.Column("start_block", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), server_default=sa.text("'waiting'"), nullable=False),
        sa.Column("received_asset", sa.Numeric(38, 18), server_default=sa.text("0"), nullable=False),
        sa.Column("credited_rub", sa.Numeric(12, 2), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("watch_until", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_crypto_invoices_user_id", "crypto_invoices", ["user_id"])
    op.create_index("ix_crypto_invoices_watched", "crypto_invoices", ["asset", "watch_until"])
    op.create_table(
        "crypto_transfers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("invoice_id", sa.Integer(), sa.ForeignKey("crypto_invoices.id", ondelete="CASCADE"), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("asset", sa.Text(), nullable=False),
        sa.Column("tx_hash", sa.Text()),
        sa.Column("log_index", sa.Integer()),
        sa.Column("balance_total", sa.Numeric(38, 18)),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount_asset", sa.Numeric(38, 18), nullable=False),
        sa.Column("rate", sa.Numeric(20, 8)),
        sa.Column("credited_rub", sa.Numeric(12, 2)),
        sa.Column("ledger_row_id", sa.Integer(), sa.ForeignKey("transactions.id", ondelete="SET NULL")),
        sa.Column("note", sa.Text()),
        sa.Column("seen_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("credited_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("chain_id", "tx_hash", "log_index", name="uq_crypto_transfers_log"),
    )
    op.create_index("ix_crypto_transfers_invoice_id", "crypto_transfers", ["invoice_id"])
    op.create_index("uq_crypto_transfers_balance", "crypto_transfers", ["chain_id", "invoice_id", "balance_total"],
                    unique=True, postgresql_where=sa.text("tx_hash IS NULL"))
    op.create_index("ix_crypto_transfers_uncredited", "crypto_transfers", ["id"],
                    postgresql_where=sa.text("credited_at IS NULL"))
    op.create_table(
        "crypto_watcher",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("last_scanned_block", sa.BigInteger()),
        sa.Column("node_head", sa.BigInteger()),
        sa.Column("highest_head", sa.BigInteger()),
        sa.Column("usdt_decimals", sa.Integer()),
        sa.Column("chain_id", sa.Integer()),
        sa.Column("chain_mismatch", sa.Text()),
        sa.Column("last_error", sa.Text()),
        sa.Column("checked_at", sa.DateTime(timezone=True)),
        sa.Column("passed_at", sa.DateTime(timezone=True)),
        sa.Column("rates", postgresql.JSONB()),
        sa.Column("rates_at", sa.DateTime(timezone=True)),
        sa.Column("rates_error", sa.Text()),
    )


def downgrade():
    op.drop_table("crypto_watcher")
    op.drop_table("crypto_transfers")
    op.drop_table("crypto_invoices")
    op.execute("DROP SEQUENCE crypto_address_index_seq")
