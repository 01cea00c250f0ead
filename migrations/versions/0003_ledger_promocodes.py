"""The ledger carries every movement exactly once; promocodes get limits.

Revision ID: 0003_ledger_promocodes
Revises: 0002_customers_staff_audit
"""
from datetime import datetime

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
    # Only an unambiguous match links: a username or tg_id two users share links nobody (0006
    # gives such users distinct usernames and flags their servers; the row keeps its username).
    op.execute("UPDATE transactions t SET user_id = u.id FROM users u "
               "WHERE t.username IS NOT NULL AND u.username = t.username "
               "AND (SELECT count(*) FROM users o WHERE o.username = t.username) = 1")
    op.execute("UPDATE transactions t SET user_id = u.id FROM users u "
               "WHERE t.user_id IS NULL AND t.tg_id IS NOT NULL AND u.tg_id = t.tg_id "
               "AND (SELECT count(*) FROM users o WHERE o.tg_id = t.tg_id) = 1")
    _date_legacy_rows()
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


def _date_legacy_rows() -> None:
    """created_at from the legacy 'dd.mm.yyyy' text; an impossible date ('31.02.2025') keeps the default."""
    connection = op.get_bind()
    rows = connection.execute(sa.text(r"SELECT id, date FROM transactions WHERE date ~ '^\d{2}\.\d{2}\.\d{4}$'"))
    valid = []
    for row_id, day in rows:
        try:
            datetime.strptime(day, "%d.%m.%Y")
        except ValueError:
            continue
        valid.append(row_id)
    if valid:
        connection.execute(sa.text("UPDATE transactions SET created_at = to_timestamp(date, 'DD.MM.YYYY') "
                                   "WHERE id = ANY(:ids)"), {"ids": valid})


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
