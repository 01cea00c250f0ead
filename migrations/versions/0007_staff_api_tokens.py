"""Staff API tokens: bearer tokens for staff JSON calls, stored as SHA-256 hashes.

Revision ID: 0007_staff_api_tokens
Revises: 0005_users_legacy_cookie_index
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_staff_api_tokens"
down_revision = "0006b_hardening"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "staff_api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("token_hash", sa.Text, nullable=False),
        sa.Column("prefix", sa.Text, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("last_used_at", TIMESTAMP),
        sa.Column("revoked_at", TIMESTAMP),
        sa.UniqueConstraint("token_hash", name="uq_staff_api_tokens_token_hash"),
    )
    op.create_index("ix_staff_api_tokens_staff_id", "staff_api_tokens", ["staff_id"])


def downgrade():
    op.drop_table("staff_api_tokens")
