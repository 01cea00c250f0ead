"""The console's remaining full scans served by indexes (README, "Performance").

- servers.ips: `ips::text` is only STABLE (array output), so no index can be built on it; the
  IMMUTABLE `servers_ips_text(ips)` gives the same text and carries a trigram index.
- users.legacy_mail / legacy_username: the customer search ORs them with the indexed columns,
  and one unindexed arm turned the whole OR into a sequential scan. Partial: nearly all NULL.
- users flagged duplicate_mail: the users page counts shared addresses on every view; the
  count starts from these (few) rows instead of grouping every customer.
- users (mail DESC NULLS LAST, id DESC): the listing by mail in its default, descending order
  (0011's (mail, id) serves only the ascending one).

Revision ID: 0012_console_search_indexes
Revises: 0011_perf_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_console_search_indexes"
down_revision = "0011_perf_indexes"
branch_labels = None
depends_on = None

# text[] prints the same whatever the settings, so IMMUTABLE holds for this type. PL/pgSQL, not
# SQL: a SQL function that is not inlined (and this one must not be) costs twice as much a call,
# and the search rechecks every candidate row with it.
IPS_TEXT = """
CREATE FUNCTION servers_ips_text(ips text[]) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$ BEGIN RETURN ips::text; END $$
"""
LEGACY_TRIGRAM_INDEXES = {"ix_users_legacy_mail_trgm": "legacy_mail", "ix_users_legacy_username_trgm": "legacy_username"}


def upgrade():
    op.execute(IPS_TEXT)
    op.create_index("ix_servers_ips_trgm", "servers", [sa.text("servers_ips_text(ips) gin_trgm_ops")],
                    postgresql_using="gin")
    for name, column in LEGACY_TRIGRAM_INDEXES.items():
        op.create_index(name, "users", [column], postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"},
                        postgresql_where=sa.text(f"{column} IS NOT NULL"))
    op.create_index("ix_users_duplicate_mail_key", "users", [sa.text("lower(btrim(mail))")],
                    postgresql_where=sa.text("duplicate_mail"))
    op.create_index("ix_users_mail_desc_id", "users", [sa.text("mail DESC NULLS LAST"), sa.text("id DESC")])


def downgrade():
    op.drop_index("ix_users_mail_desc_id", "users")
    op.drop_index("ix_users_duplicate_mail_key", "users")
    for name in LEGACY_TRIGRAM_INDEXES:
        op.drop_index(name, "users")
    op.drop_index("ix_servers_ips_trgm", "servers")
    op.execute("DROP FUNCTION servers_ips_text(text[])")
