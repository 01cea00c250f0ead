"""Servers remember their rental and network; orders get provisioning runs; mail is kept.

Revision ID: 0004_servers_provisioning_mail
Revises: 0003_ledger_promocodes
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004_servers_provisioning_mail"
down_revision = "0003_ledger_promocodes"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
SERVER_COLUMNS = [
    sa.Column("node", sa.Text),
    sa.Column("country", sa.Text),
    sa.Column("rented_at", TIMESTAMP),
    sa.Column("paid_until", TIMESTAMP),
    sa.Column("network_refs", JSONB),
    sa.Column("attention", sa.Text),
    sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
]


def upgrade():
    for column in SERVER_COLUMNS:
        op.add_column("servers", column)
    op.create_index("ix_servers_username", "servers", ["username"])
    # The pool claim scans free VMs of one OS.
    op.create_index("ix_servers_free_by_os", "servers", ["os", "id"], postgresql_where=sa.text("NOT busy"))

    op.create_table(
        "provisioning_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("server_id", sa.Integer, sa.ForeignKey("servers.id"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("order_transaction_id", sa.Integer, sa.ForeignKey("transactions.id")),
        sa.Column("refund_transaction_id", sa.Integer, sa.ForeignKey("transactions.id")),
        sa.Column("cores", sa.Integer, nullable=False),
        sa.Column("ram", sa.Integer, nullable=False),
        sa.Column("hdd", sa.Integer, nullable=False),
        sa.Column("os", sa.Text, nullable=False),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("promo", sa.Text),
        sa.Column("state", sa.Text, nullable=False, server_default=sa.text("'pending'")),
        sa.Column("error", sa.Text),
        sa.Column("job_id", sa.Text),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", TIMESTAMP),
    )
    op.create_index("ix_provisioning_runs_server_id", "provisioning_runs", ["server_id"])
    op.create_index("ix_provisioning_runs_user_id", "provisioning_runs", ["user_id"])
    op.create_index("ix_provisioning_runs_state", "provisioning_runs", ["state"])
    op.create_table(
        "provisioning_steps",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("provisioning_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False, server_default=sa.text("'pending'")),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("error", sa.Text),
        sa.Column("result", JSONB),
        sa.Column("started_at", TIMESTAMP),
        sa.Column("finished_at", TIMESTAMP),
        sa.UniqueConstraint("run_id", "name", name="uq_provisioning_steps_run_id_name"),
    )
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("to_email", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False, server_default=sa.text("'queued'")),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text),
        sa.Column("job_id", sa.Text),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", TIMESTAMP),
    )
    op.create_index("ix_mail_messages_state", "mail_messages", ["state"])
    op.create_index("ix_mail_messages_created_at", "mail_messages", ["created_at"])


def downgrade():
    op.drop_table("mail_messages")
    op.drop_table("provisioning_steps")
    op.drop_table("provisioning_runs")
    op.drop_index("ix_servers_free_by_os", "servers")
    op.drop_index("ix_servers_username", "servers")
    for column in reversed(SERVER_COLUMNS):
        op.drop_column("servers", column.name)
