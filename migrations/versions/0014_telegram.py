"""The Telegram bot: chats (language, notice channel, reachability), the outbox, and received updates.

Revision ID: 0014_telegram
Revises: 0013_server_states
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0014_telegram"
down_revision = "0013_server_states"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "telegram_chats",
        sa.Column("chat_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("username", sa.Text()),
        sa.Column("language", sa.Text()),
        sa.Column("notify", sa.Text(), server_default=sa.text("'both'"), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True)),
        sa.Column("blocked_at", sa.DateTime(timezone=True)),
        sa.Column("blocked_reason", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "telegram_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reply_markup", JSONB()),
        sa.Column("edit_message_id", sa.BigInteger()),
        sa.Column("state", sa.Text(), server_default=sa.text("'queued'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("job_id", sa.Text()),
        sa.Column("tg_message_id", sa.BigInteger()),
        sa.Column("secret", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("delete_after", sa.DateTime(timezone=True)),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_telegram_messages_chat_id", "telegram_messages", ["chat_id"])
    op.create_index("ix_telegram_messages_user_id", "telegram_messages", ["user_id"])
    op.create_index("ix_telegram_messages_open", "telegram_messages", ["state", "created_at"],
                    postgresql_where=sa.text("state IN ('queued', 'sending')"))
    op.create_index("ix_telegram_messages_delete_due", "telegram_messages", ["delete_after"],
                    postgresql_where=sa.text("delete_after IS NOT NULL AND deleted_at IS NULL"))
    op.create_table(
        "telegram_updates",
        sa.Column("update_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("payload", JSONB()),
        sa.Column("state", sa.Text(), server_default=sa.text("'received'"), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_telegram_updates_received_at", "telegram_updates", ["received_at"])


def downgrade():
    op.drop_table("telegram_updates")
    op.drop_table("telegram_messages")
    op.drop_table("telegram_chats")
