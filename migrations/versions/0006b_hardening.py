"""Staff session generation: signing out, a password change or deactivation ends every console session.

Revision ID: 0006b_hardening
Revises: 0005_users_legacy_cookie_index
"""
import sqlalchemy as sa
from alembic import op

revision = "0006b_hardening"
down_revision = "0006_legacy_hardening"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("staff", sa.Column("session_generation", sa.Integer(), server_default=sa.text("0"),
                                     nullable=False))


def downgrade():
    op.drop_column("staff", "session_generation")
