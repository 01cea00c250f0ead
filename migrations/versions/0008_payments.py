"""Balance top-ups through Platega: an invoice beside each `add_balance` ledger row.

Revision ID: 0008_payments
Revises: 0007_staff_api_tokens
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008_payments"
down_revision = "0007_staff_api_tokens"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("ledger_row_id", sa.Integer, sa.ForeignKey("transactions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("gateway_id", sa.Text, nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.Text, nullable=False, server_default=sa.text("'RUB'")),
        sa.Column("payment_method", sa.Integer, nullable=False),
        sa.Column("redirect", sa.Text),
        sa.Column("state", sa.Text, nullable=False, server_default=sa.text("'pending'")),
        sa.Column("gateway_status", sa.Text),
        sa.Column("last_answer", JSONB),
        sa.Column("last_error", sa.Text),
        sa.Column("attention", sa.Text),
        sa.Column("checks", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("checked_at", TIMESTAMP),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("credited_at", TIMESTAMP),
        sa.Column("credited_by", sa.Text),
        sa.Column("closed_at", TIMESTAMP),
        sa.Column("chargeback_row_id", sa.Integer, sa.ForeignKey("transactions.id", ondelete="SET NULL")),
        sa.UniqueConstraint("reference", name="uq_invoices_reference"),
        sa.UniqueConstraint("ledger_row_id", name="uq_invoices_ledger_row_id"),
        sa.UniqueConstraint("gateway_id", name="uq_invoices_gateway_id"),
    )
    op.create_index("ix_invoices_user_id", "invoices", ["user_id"])
    op.create_index("ix_invoices_pending", "invoices", ["created_at"], postgresql_where=sa.text("state = 'pending'"))


def downgrade():
    op.drop_table("invoices")
