"""Support tickets and their entries, newsletters and their recipients, opt-outs and the staff's chat id.

Revision ID: 0019_support
Revises: 0017_staff_2fa
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_support"
down_revision = "0017_staff_2fa"
branch_labels = None
depends_on = None


def _now():
    return sa.func.now()


def upgrade():
    op.add_column("staff", sa.Column("telegram_chat_id", sa.BigInteger()))
    op.add_column("users", sa.Column("newsletters_off_at", sa.DateTime(timezone=True)))
    op.add_column("telegram_chats", sa.Column("newsletters_off_at", sa.DateTime(timezone=True)))
    op.add_column("telegram_chats", sa.Column("imported_at", sa.DateTime(timezone=True)))
    op.create_table(
        "support_tickets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("tg_username", sa.Text()),
        sa.Column("language", sa.Text()),
        sa.Column("state", sa.Text(), server_default=sa.text("'open'"), nullable=False),
        sa.Column("assignee_id", sa.Integer(), sa.ForeignKey("staff.id", ondelete="SET NULL")),
        sa.Column("subject", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("unread", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
    )
    op.create_index("uq_support_tickets_open_chat", "support_tickets", ["chat_id"], unique=True,
                    postgresql_where=sa.text("state <> 'closed'"))
    op.create_index("ix_support_tickets_state_updated", "support_tickets", ["state", "updated_at"])
    op.create_index("ix_support_tickets_user_id", "support_tickets", ["user_id"])
    op.create_index("ix_support_tickets_assignee_id", "support_tickets", ["assignee_id"])
    op.create_table(
        "support_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("support_tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id", ondelete="SET NULL")),
        sa.Column("text", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("file_id", sa.Text()),
        sa.Column("file_kind", sa.Text()),
        sa.Column("file_name", sa.Text()),
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("telegram_messages.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )
    op.create_index("ix_support_entries_ticket_id", "support_entries", ["ticket_id"])
    op.create_table(
        "newsletters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("language", sa.Text()),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), server_default=sa.text("'draft'"), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("staff.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "newsletter_recipients",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("newsletter_id", sa.Integer(), sa.ForeignKey("newsletters.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("state", sa.Text(), server_default=sa.text("'queued'"), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("attempted_at", sa.DateTime(timezone=True)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("newsletter_id", "channel", "address", name="uq_newsletter_recipient"),
    )
    op.create_index("ix_newsletter_recipients_queue", "newsletter_recipients", ["newsletter_id", "state", "id"])


def downgrade():
    op.drop_table("newsletter_recipients")
    op.drop_table("newsletters")
    op.drop_table("support_entries")
    op.drop_table("support_tickets")
    op.drop_column("telegram_chats", "imported_at")
    op.drop_column("telegram_chats", "newsletters_off_at")
    op.drop_column("users", "newsletters_off_at")
    op.drop_column("staff", "telegram_chat_id")
