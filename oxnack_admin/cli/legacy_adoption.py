"""Adopting the old Oxnack database: stamp the legacy baseline, upgrade, prove no row was lost."""
from collections.abc import Iterator

from flask_migrate import stamp, upgrade
from sqlalchemy import inspect, text

from oxnack_admin.extensions import db

BASELINE_REVISION = "0001_legacy_baseline"
LEGACY_TABLES = {
    "users": {"id", "username", "mail", "passwd_hash", "is_verified", "cookie", "tg_id", "tg_username", "balance",
              "use", "date_start", "date_stop", "token", "ref_id", "sub", "expires_at", "name"},
    "servers": {"id", "ram", "cores", "hdd", "ips", "lan_ip", "os", "status", "passwd", "mac", "name",
                "discription", "busy", "username"},
    "transactions": {"id", "username", "tg_id", "type", "amount", "date", "discription", "status", "transaction_id"},
    "services": {"id", "name_ru", "description_ru", "name_en", "description_en", "price_usd", "price_rub",
                 "image_link", "enabled"},
    "promocodes": {"promo", "discount"},
}


class AdoptionError(RuntimeError):
    """The database is not one this command can adopt; the message says what is off."""


def adopt() -> Iterator[str]:
    """Bring the database at DATABASE_URL to the newest schema, yielding what was done."""
    inspector = inspect(db.engine)
    tables = set(inspector.get_table_names())
    if "alembic_version" in tables:
        yield "already adopted (alembic_version present): upgrading only"
    elif not tables & set(LEGACY_TABLES):
        yield "empty database: building the schema from scratch"
    else:
        _check_legacy_shape(inspector, tables)
        yield f"legacy schema found; stamping baseline {BASELINE_REVISION}"
        stamp(revision=BASELINE_REVISION)
    before = count_rows()
    yield "rows before: " + _format_counts(before)
    upgrade()
    after = count_rows()
    yield "rows after:  " + _format_counts(after)
    lost = {table: (before[table], after.get(table)) for table in before if after.get(table) != before[table]}
    if lost:
        raise AdoptionError(f"row counts changed during the upgrade: {lost}")
    yield "upgraded to head; every legacy row kept"
    yield from _what_staff_must_settle()


def _what_staff_must_settle() -> Iterator[str]:
    """What adoption flagged instead of deciding alone (see README, "Adopting the legacy database")."""
    with db.engine.connect() as connection:
        shared = connection.execute(text(
            "SELECT count(DISTINCT lower(btrim(mail))) FROM users WHERE duplicate_mail")).scalar_one()
        renamed = connection.execute(text("SELECT count(*) FROM users WHERE legacy_username IS NOT NULL")).scalar_one()
        flagged = connection.execute(text("SELECT count(*) FROM servers WHERE attention LIKE 'Adoption:%'")).scalar_one()
    if shared:
        yield (f"{shared} e-mail address(es) shared by several accounts: one signs in, the others wait for staff "
               "(console: Users > Duplicate mails)")
    if renamed:
        yield f"{renamed} user(s) renamed because another user had the same username (old name in legacy_username)"
    if flagged:
        yield f"{flagged} server(s) need attention: shared address or unclear owner (console: Servers > Needs attention)"


def _check_legacy_shape(inspector, tables: set[str]) -> None:
    missing_tables = sorted(set(LEGACY_TABLES) - tables)
    if missing_tables:
        raise AdoptionError(f"not the legacy schema: missing tables {', '.join(missing_tables)}")
    for table, columns in LEGACY_TABLES.items():
        present = {column["name"] for column in inspector.get_columns(table)}
        if columns - present:
            raise AdoptionError(f"not the legacy schema: {table} lacks {', '.join(sorted(columns - present))}")


def count_rows() -> dict[str, int]:
    tables = set(inspect(db.engine).get_table_names())
    with db.engine.connect() as connection:
        return {table: connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
                for table in LEGACY_TABLES if table in tables}


def _format_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{table}={count}" for table, count in counts.items()) or "(no legacy tables)"
