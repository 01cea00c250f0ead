"""An imported user's old session cookie is found by index, not by scanning every customer.

Revision ID: 0005_users_legacy_cookie_index
Revises: 0004_servers_provisioning_mail
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_users_legacy_cookie_index"
down_revision = "0004_servers_provisioning_mail"
branch_labels = None
depends_on = None


def upgrade():
    # Partial: the column empties as imported users come back, so the index stays tiny.
    op.create_index("ix_users_legacy_cookie", "users", ["cookie"], postgresql_where=sa.text("cookie IS NOT NULL"))


def downgrade():
    op.drop_index("ix_users_legacy_cookie", "users")
