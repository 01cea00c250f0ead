"""The ledger carries every movement exactly once; promocodes get limits.

Revision ID: 0003_ledger_promocodes
Revises: 0002_customers_staff_audit
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_ledger_promocodes"
down_revision = "0002_customers_staff_audit"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade():
    op.alter_column("transactions", "amount", type_=sa.Numeric(12, 2), postgresql_using="amount::numeric(12,2)")
    op.add_column("transactions", sa.Column("user_id", sa.Integer, sa.ForeignKey(
        "users.id", ondelete="SET NULL", name="fk_transactions_user_id_users")))
    op.add_column("transactions", sa.Column("server_id", sa.Integer))
    op.add_column("transactions", sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()))
    op.add_column("transactions", sa.Column("idempotency_key", sa.Text))
    op.add_column("transactions", sa.Column("staff_id", sa.Integer, sa.ForeignKey(
        "staff.id", ondelete="SET NULL", name="fk_transactions_staff_id_staff")))
    op.create_unique_constraint("uq_transactions_idempotency_key", "transactions", ["idempotency_key"])
    # Link legacy rows to their customer (site users by username, bot users by tg_id) and date them.
    op.execute("UPDATE transactions t SET user_id = u.id FROM users u "
               "WHERE t.username IS NOT NULL AND u.username = t.username")
    op.execute("UPDATE transactions t SET user_id = u.id FROM users u "
               "WHERE t.user_id IS NULL AND t.tg_id IS NOT NULL AND u.tg_id = t.tg_id")
    op.execute(r"UPDATE transactions SET created_at = to_timestamp(date, 'DD.MM.YYYY') "
               r"WHERE date ~ '^\d{2}\.\d{2}\.\d{4}$'")
    op.create_index("ix_transactions_user_id", "transactions", ["user_id"])
    op.create_index("ix_transactions_created_at", "transactions", ["created_at"])

    op.add_column("promocodes", sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.text("true")))
    op.add_column("promocodes", sa.Column("expires_at", TIMESTAMP))
    op.add_column("promocodes", sa.Column("max_uses", sa.Integer))
    op.add_column("promocodes", sa.Column("per_user_limit", sa.Integer, nullable=False, server_default=sa.text("1")))
    op.add_column("promocodes", sa.Column("uses", sa.Integer, nullable=False, server_default=sa.text("0")))
    op.add_column("promocodes", sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()))
    op.create_table(
        "promocode_uses",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("promo", sa.Text, sa.ForeignKey("promocodes.promo", onupdate="CASCADE", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("server_id", sa.Integer),
        sa.Column("transaction_id", sa.Integer, sa.ForeignKey("transactions.id", ondelete="SET NULL")),
        sa.Column("discount", sa.Integer, nullable=False),
        sa.Column("used_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_promocode_uses_promo", "promocode_uses", ["promo"])
    op.create_index("ix_promocode_uses_user_id", "promocode_uses", ["user_id"])


def downgrade():
    op.drop_table("promocode_uses")
    for column in ("created_at", "uses", "per_user_limit", "max_uses", "expires_at", "enabled"):
        op.drop_column("promocodes", column)
    op.drop_index("ix_transactions_created_at", "transactions")
    op.drop_index("ix_transactions_user_id", "transactions")
    op.drop_constraint("uq_transactions_idempotency_key", "transactions")
    for column in ("staff_id", "idempotency_key", "created_at", "server_id", "user_id"):
        op.drop_column("transactions", column)
    op.alter_column("transactions", "amount", type_=sa.Integer, postgresql_using="round(amount)::integer")
