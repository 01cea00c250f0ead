"""The server lifecycle: state, auto-renew and reminders on servers; server events; VM wipes.

`paid_until` stays the period end (date_stop). Servers sold before this revision become
`active`; `flask billing-cycle` dates sold servers that have none (see the README).

Revision ID: 0009_lifecycle
Revises: 0005_users_legacy_cookie_index
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0009_lifecycle"
down_revision = "0008_payments"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade():
    op.add_column("servers", sa.Column("lifecycle_state", sa.Text))
    op.add_column("servers", sa.Column("auto_renew", sa.Boolean, nullable=False, server_default=sa.text("true")))
    op.add_column("servers", sa.Column("reminded_days", sa.Integer))
    op.add_column("servers", sa.Column("suspended_at", TIMESTAMP))
    op.execute("UPDATE servers SET lifecycle_state = 'active' WHERE busy IS TRUE")
    op.create_table(
        "server_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("server_id", sa.Integer, sa.ForeignKey("servers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("username", sa.Text),
        sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id", ondelete="SET NULL")),
        sa.Column("detail", JSONB),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_server_events_server_id_id", "server_events", ["server_id", "id"])
    op.create_table(
        "server_wipes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("server_id", sa.Integer, sa.ForeignKey("servers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("previous_owner", sa.Text),
        sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id", ondelete="SET NULL")),
        sa.Column("state", sa.Text, nullable=False, server_default=sa.text("'pending'")),
        sa.Column("steps_done", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("current_step", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("error", sa.Text),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", TIMESTAMP),
    )
    op.create_index("ix_server_wipes_server_id", "server_wipes", ["server_id"])
    op.create_index("ix_server_wipes_state", "server_wipes", ["state"])


def downgrade():
    op.drop_table("server_wipes")
    op.drop_table("server_events")
    for column in ("suspended_at", "reminded_days", "auto_renew", "lifecycle_state"):
        op.drop_column("servers", column)
