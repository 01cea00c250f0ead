"""The console's searches and listings stay fast as the tables grow (README, "Performance").

Trigram GIN indexes serve the `ILIKE '%text%'` searches of users, servers and transactions; the
ledger's newest-first listing walks (created_at, id) instead of sorting every row.

Revision ID: 0011_perf_indexes
Revises: 0005_users_legacy_cookie_index
"""
from alembic import op

revision = "0011_perf_indexes"
down_revision = "0010_proxies"
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = {  # name: (table, column)
    "ix_users_mail_trgm": ("users", "mail"),
    "ix_users_username_trgm": ("users", "username"),
    "ix_users_tg_username_trgm": ("users", "tg_username"),
    "ix_transactions_username_trgm": ("transactions", "username"),
    "ix_transactions_discription_trgm": ("transactions", "discription"),
    "ix_servers_username_trgm": ("servers", "username"),
    "ix_servers_lan_ip_trgm": ("servers", "lan_ip"),
}


def upgrade():
    # A trusted extension since PostgreSQL 13: the database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in TRIGRAM_INDEXES.items():
        op.create_index(name, table, [column], postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})
    op.create_index("ix_transactions_created_at_id", "transactions", ["created_at", "id"])
    op.create_index("ix_users_tg_id", "users", ["tg_id"])  # the search's exact Telegram id match
    op.create_index("ix_users_mail_id", "users", ["mail", "id"])  # the listing sorted by mail


def downgrade():
    op.drop_index("ix_users_mail_id", "users")
    op.drop_index("ix_users_tg_id", "users")
    op.drop_index("ix_transactions_created_at_id", "transactions")
    for name, (table, _column) in TRIGRAM_INDEXES.items():
        op.drop_index(name, table)
    # The extension stays: other objects of the database may have come to use it.
