"""Proxy resale: the inventory mirrored from the upstream, customers' proxy orders, sync runs.

Revision ID: 0010_proxies
Revises: 0007_staff_api_tokens
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_proxies"
down_revision = "0009_lifecycle"
branch_labels = None
depends_on = None


def upgrade():
    # One row per upstream proxy; `sold` rows are left alone by the sync.
    op.create_table('proxy_inventory',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('upstream_id', sa.BigInteger(), nullable=False),
    sa.Column('ip', sa.Text(), nullable=True),
    sa.Column('country', sa.Text(), nullable=True),
    sa.Column('country_code', sa.Text(), nullable=True),
    sa.Column('city', sa.Text(), nullable=True),
    sa.Column('region', sa.Text(), nullable=True),
    sa.Column('isp', sa.Text(), nullable=True),
    sa.Column('speed', sa.Float(), nullable=True),
    sa.Column('mobile', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('hosting', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('status', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('on_sale', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('sold', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('off_sale_reason', sa.Text(), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proxy_inventory')),
    sa.UniqueConstraint('upstream_id', name=op.f('uq_proxy_inventory_upstream_id'))
    )
    op.create_index('ix_proxy_inventory_on_sale_country', 'proxy_inventory', ['on_sale', 'country_code'], unique=False)

    # The partial unique index on running rows is the lock that keeps two syncs from overlapping.
    op.create_table('proxy_sync_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('trigger', sa.Text(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('requested_by', sa.Text(), nullable=True),
    sa.Column('country_code', sa.Text(), nullable=True),
    sa.Column('page_size', sa.Integer(), nullable=False),
    sa.Column('pages', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('total_fetched', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('total_available_external', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('added', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('updated', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('removed', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('skipped', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_proxy_sync_runs_staff_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proxy_sync_runs'))
    )
    op.create_index('uq_proxy_sync_runs_one_running', 'proxy_sync_runs', [sa.literal_column("(state = 'running')")], unique=True, postgresql_where=sa.text("state = 'running'"))

    op.create_table('proxy_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('inventory_id', sa.Integer(), nullable=False),
    sa.Column('upstream_proxy_id', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('price_usd', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('price_rub', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('idempotency_key', sa.Text(), nullable=True),
    sa.Column('upstream_credentials_id', sa.Text(), nullable=True),
    sa.Column('proxy_ip', sa.Text(), nullable=True),
    sa.Column('server_ip', sa.Text(), nullable=True),
    sa.Column('server_port', sa.Integer(), nullable=True),
    sa.Column('login', sa.Text(), nullable=True),
    sa.Column('password', sa.Text(), nullable=True),
    sa.Column('upstream_price', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('refundable', sa.Boolean(), nullable=True),
    sa.Column('purchase_transaction_id', sa.Integer(), nullable=True),
    sa.Column('refund_transaction_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('bought_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refund_amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['inventory_id'], ['proxy_inventory.id'], name=op.f('fk_proxy_orders_inventory_id_proxy_inventory'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['purchase_transaction_id'], ['transactions.id'], name=op.f('fk_proxy_orders_purchase_transaction_id_transactions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['refund_transaction_id'], ['transactions.id'], name=op.f('fk_proxy_orders_refund_transaction_id_transactions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_proxy_orders_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proxy_orders')),
    sa.UniqueConstraint('upstream_credentials_id', name=op.f('uq_proxy_orders_upstream_credentials_id')),
    sa.UniqueConstraint('user_id', 'idempotency_key', name='uq_proxy_orders_user_key')
    )
    op.create_index(op.f('ix_proxy_orders_inventory_id'), 'proxy_orders', ['inventory_id'], unique=False)
    op.create_index('ix_proxy_orders_state', 'proxy_orders', ['state'], unique=False)
    op.create_index(op.f('ix_proxy_orders_upstream_proxy_id'), 'proxy_orders', ['upstream_proxy_id'], unique=False)
    op.create_index(op.f('ix_proxy_orders_user_id'), 'proxy_orders', ['user_id'], unique=False)


def downgrade():
    # Dropping a table drops its indexes; orders first, they point at the inventory.
    op.drop_table("proxy_orders")
    op.drop_table("proxy_sync_runs")
    op.drop_table("proxy_inventory")
