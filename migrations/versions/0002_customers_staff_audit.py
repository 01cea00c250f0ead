"""Customers move forward: exact money, sessions per device, staff accounts, the audit log.

Revision ID: 0002_customers_staff_audit
Revises: 0001_legacy_baseline
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002_customers_staff_audit"
down_revision = "0001_legacy_baseline"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade():
    op.alter_column("users", "balance", type_=sa.Numeric(12, 2), postgresql_using="balance::numeric(12,2)",
                    server_default=sa.text("0"))
    op.add_column("users", sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()))
    op.add_column("users", sa.Column("blocked_at", TIMESTAMP))
    op.create_index("ix_users_username", "users", ["username"])
    # One account per address is enforced from 0006, which first settles the duplicates a legacy
    # database has (a unique index here would abort the adoption).

    op.create_table(
        "staff",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("last_login_at", TIMESTAMP),
        sa.UniqueConstraint("email", name="uq_staff_email"),
        sa.CheckConstraint("role IN ('support', 'admin', 'owner')", name="ck_staff_role"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("token_hash", sa.Text, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("last_seen_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("ip", sa.Text),
        sa.Column("user_agent", sa.Text),
        sa.UniqueConstraint("token_hash", name="uq_sessions_token_hash"),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id", ondelete="SET NULL")),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target_type", sa.Text),
        sa.Column("target_id", sa.Text),
        sa.Column("before", JSONB),
        sa.Column("after", JSONB),
        sa.Column("ip", sa.Text),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_audit_log_staff_id", "audit_log", ["staff_id"])
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"])


def downgrade():
    op.drop_table("audit_log")
    op.drop_table("sessions")
    op.drop_table("staff")
    op.execute("DROP INDEX IF EXISTS uq_users_mail_lower")  # databases migrated before 0006 existed
    op.drop_index("ix_users_username", "users")
    op.drop_column("users", "blocked_at")
    op.drop_column("users", "created_at")
    # Back to whole roubles, as the legacy code kept them.
    op.alter_column("users", "balance", type_=sa.Integer, postgresql_using="round(balance)::integer",
                    server_default=sa.text("0"))
