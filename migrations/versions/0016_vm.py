"""The VM itself: a provisioning run is an order or a reinstall (same steps machinery, more steps).

Revision ID: 0016_vm
Revises: 0015_crypto
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_vm"
down_revision = "0015_crypto"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("provisioning_runs", sa.Column("kind", sa.Text(), server_default=sa.text("'order'"), nullable=False))


def downgrade():
    op.execute("DELETE FROM provisioning_runs WHERE kind = 'reinstall'")
    op.drop_column("provisioning_runs", "kind")
