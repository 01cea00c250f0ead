"""Messy legacy data settled, then constrained: one login per mail, one user per username, one server per IP.

Nothing legacy is deleted or rewritten except the usernames two users shared (the original is
kept in users.legacy_username and put back by the downgrade). Duplicate mails stay as they were;
all but one account per address are flagged `duplicate_mail` (no login by mail) until staff
resolve them in the console. Servers whose address or owner is ambiguous get `attention`.

Revision ID: 0006_legacy_hardening
Revises: 0005_users_legacy_cookie_index
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_legacy_hardening"
down_revision = "0005_users_legacy_cookie_index"
branch_labels = None
depends_on = None

# Which account of a shared address logs in: a verified one, with a password, the one that
# moved money last (transaction ids grow with time, legacy and new alike), else the newest.
# Kept in step with oxnack_admin/services/accounts/duplicates.py (LOGIN_ORDER).
FLAG_DUPLICATE_MAILS = """
WITH activity AS (
    SELECT user_id, max(id) AS last_transaction FROM transactions WHERE user_id IS NOT NULL GROUP BY user_id
), ranked AS (
    SELECT u.id, row_number() OVER (
        PARTITION BY lower(btrim(u.mail))
        ORDER BY coalesce(u.is_verified, false) DESC, coalesce(u.passwd_hash, '') <> '' DESC,
                 a.last_transaction DESC NULLS LAST, u.id DESC) AS position
    FROM users u LEFT JOIN activity a ON a.user_id = u.id
    WHERE btrim(u.mail) <> ''
)
UPDATE users SET duplicate_mail = true FROM ranked WHERE users.id = ranked.id AND ranked.position > 1
"""
MAIL_INDEX_WHERE = "NOT duplicate_mail AND btrim(mail) <> ''"

CLAIM_ADDRESSES = """
CREATE FUNCTION servers_claim_addresses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The primary key of server_addresses is the constraint: a second claim of an address fails.
    DELETE FROM server_addresses WHERE server_id = NEW.id;
    INSERT INTO server_addresses (kind, address, server_id)
        SELECT DISTINCT 'public', btrim(ip), NEW.id FROM unnest(NEW.ips) AS ip WHERE btrim(ip) <> ''
        UNION
        SELECT 'lan', btrim(NEW.lan_ip), NEW.id WHERE btrim(NEW.lan_ip) <> '';
    RETURN NULL;
END
$$;
CREATE TRIGGER servers_claim_addresses AFTER INSERT OR UPDATE OF ips, lan_ip ON servers
    FOR EACH ROW EXECUTE FUNCTION servers_claim_addresses();
"""
# Legacy rows: the sold server (then the lowest VMID) keeps an address two rows share.
LEGACY_ADDRESSES = """
WITH wanted AS (
    SELECT 'public' AS kind, btrim(ip) AS address, s.id AS server_id, coalesce(s.busy, false) AS busy
    FROM servers s, unnest(s.ips) AS ip WHERE btrim(ip) <> ''
    UNION
    SELECT 'lan', btrim(lan_ip), id, coalesce(busy, false) FROM servers WHERE btrim(lan_ip) <> ''
)
INSERT INTO server_addresses (kind, address, server_id)
SELECT DISTINCT ON (kind, address) kind, address, server_id FROM wanted ORDER BY kind, address, busy DESC, server_id
"""
FLAG_ADDRESS_CONFLICTS = """
WITH lost AS (
    SELECT s.id, string_agg(DISTINCT w.kind || ' ' || w.address || ' (kept by VM ' || a.server_id || ')', ', ') AS what
    FROM servers s
    JOIN LATERAL (SELECT 'public' AS kind, btrim(ip) AS address FROM unnest(s.ips) AS ip
                  UNION SELECT 'lan', btrim(s.lan_ip)) w ON w.address <> ''
    JOIN server_addresses a ON a.kind = w.kind AND a.address = w.address AND a.server_id <> s.id
    GROUP BY s.id
)
UPDATE servers SET attention = concat_ws(E'\\n', attention, 'Adoption: address shared with another VM: ' || lost.what)
FROM lost WHERE servers.id = lost.id
"""
# A free VM without a public address would be sold and fail at the network step.
FLAG_NO_ADDRESS = """
UPDATE servers SET attention = concat_ws(E'\\n', attention, 'Adoption: no public IPv4 address; add one before it is sold.')
WHERE NOT coalesce(busy, false)
  AND NOT EXISTS (SELECT 1 FROM server_addresses a WHERE a.server_id = servers.id AND a.kind = 'public')
"""


def upgrade():
    op.add_column("users", sa.Column("duplicate_mail", sa.Boolean, nullable=False, server_default=sa.text("false")))
    op.add_column("users", sa.Column("legacy_mail", sa.Text))
    op.add_column("users", sa.Column("legacy_username", sa.Text))
    op.execute(FLAG_DUPLICATE_MAILS)
    op.execute("DROP INDEX IF EXISTS uq_users_mail_lower")  # the full one, on databases migrated before
    op.create_index("uq_users_mail_lower", "users", [sa.text("lower(btrim(mail))")], unique=True,
                    postgresql_where=sa.text(MAIL_INDEX_WHERE))

    _rename_shared_usernames()
    op.drop_index("ix_users_username", "users")
    op.create_index("uq_users_username", "users", ["username"], unique=True)
    _advance_sequences()

    op.create_table(
        "server_addresses",
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("server_id", sa.Integer, sa.ForeignKey("servers.id", ondelete="CASCADE",
                                                         name="fk_server_addresses_server_id_servers"), nullable=False),
        sa.PrimaryKeyConstraint("kind", "address", name="pk_server_addresses"),
        sa.CheckConstraint("kind IN ('public', 'lan')", name="ck_server_addresses_kind"),
    )
    op.create_index("ix_server_addresses_server_id", "server_addresses", ["server_id"])
    op.execute(LEGACY_ADDRESSES)
    op.execute(FLAG_ADDRESS_CONFLICTS)
    op.execute(FLAG_NO_ADDRESS)
    op.execute(CLAIM_ADDRESSES)


def downgrade():
    op.execute("DROP TRIGGER servers_claim_addresses ON servers")
    op.execute("DROP FUNCTION servers_claim_addresses()")
    op.drop_table("server_addresses")
    op.drop_index("uq_users_username", "users")
    op.create_index("ix_users_username", "users", ["username"])
    # Legacy values come back: shared usernames, and mails staff moved aside.
    op.execute("UPDATE users SET username = legacy_username WHERE legacy_username IS NOT NULL")
    op.drop_index("uq_users_mail_lower", "users")
    op.execute("UPDATE users SET mail = legacy_mail WHERE mail IS NULL AND legacy_mail IS NOT NULL")
    for column in ("legacy_username", "legacy_mail", "duplicate_mail"):
        op.drop_column("users", column)


def _rename_shared_usernames() -> None:
    """Two users, one username: the one whose username is its hex id (else the lowest id) keeps it."""
    connection = op.get_bind()
    rows = connection.execute(sa.text(
        "SELECT id, username, username = to_hex(id) AS own FROM users WHERE username IN "
        "(SELECT username FROM users GROUP BY username HAVING count(*) > 1) ORDER BY username, own DESC, id"
    )).all()
    taken = set(connection.execute(sa.text("SELECT username FROM users WHERE username IS NOT NULL")).scalars())
    keeper = {}
    for row in rows:
        if row.username not in keeper:
            keeper[row.username] = row.id
            continue
        renamed = f"{row.username}~{row.id}"
        while renamed in taken:
            renamed += "~"
        taken.add(renamed)
        connection.execute(sa.text("UPDATE users SET legacy_username = username, username = :renamed WHERE id = :id"),
                           {"renamed": renamed, "id": row.id})
    for username, kept_by in keeper.items():
        sharers = ", ".join(str(row.id) for row in rows if row.username == username)
        connection.execute(sa.text(
            "UPDATE servers SET attention = concat_ws(E'\\n', attention, :note) WHERE username = :username"
        ), {"username": username, "note": f"Adoption: owner unclear, username {username!r} was shared by users "
                                          f"{sharers}; it stays with user {kept_by}, the others were renamed."})


def _advance_sequences() -> None:
    """Never back: past every id in use, and past any legacy username a future hex id would repeat."""
    connection = op.get_bind()
    highest = {
        "users": "SELECT greatest(max(id), max(CASE WHEN username ~ '^[1-9a-f][0-9a-f]{0,6}$' "
                 "THEN ('x' || lpad(username, 8, '0'))::bit(32)::int END)) FROM users",
        "transactions": "SELECT max(id) FROM transactions",
        "services": "SELECT max(id) FROM services",
    }
    for table, query in highest.items():
        sequence = connection.execute(sa.text(f"SELECT pg_get_serial_sequence('{table}', 'id')")).scalar_one()
        last, called = connection.execute(sa.text(f"SELECT last_value, is_called FROM {sequence}")).one()
        used = max(connection.execute(sa.text(query)).scalar() or 0, last if called else last - 1)
        if used > 0:
            connection.execute(sa.text("SELECT setval(:sequence, :used)"), {"sequence": sequence, "used": used})
