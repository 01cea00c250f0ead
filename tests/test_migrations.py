"""Both migration paths on real PostgreSQL: an empty database, and the adopted legacy one."""
from decimal import Decimal
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from oxnack_admin import create_app
from oxnack_admin.cli.legacy_adoption import LEGACY_TABLES
from oxnack_admin.services.accounts.passwords import verify_password
from tests.conftest import make_test_config
from tests.support.servers import fresh_database

# Copies of ../shared/legacy_*.sql, so the suite runs from the repository alone.
LEGACY_SQL = Path(__file__).parent / "data"
SAMPLE_PASSWORDS = {"anna@example.com": "Passw0rd1", "boris@example.com": "Legacy123A",
                    "carl@example.com": "Oxnack2024x"}


@pytest.fixture
def scratch_app(postgres_url, redis_url):
    """An app on a database of its own, for tests that build and tear down schemas."""
    with fresh_database(postgres_url) as url:
        app = create_app(make_test_config(url, redis_url))
        yield app
        with app.app_context():
            from oxnack_admin.extensions import db
            db.engine.dispose()


def load_legacy(app) -> None:
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.begin() as connection:
        cursor = connection.connection.cursor()  # the driver's own: the sample has literal '%' signs
        for name in ("legacy_schema.sql", "legacy_sample.sql"):
            cursor.execute((LEGACY_SQL / name).read_text())
    engine.dispose()


def snapshot(app) -> dict[str, list[dict]]:
    """Every legacy row, legacy columns only, in id order."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    rows = {}
    with engine.connect() as connection:
        for table, columns in LEGACY_TABLES.items():
            order = "promo" if table == "promocodes" else "id"
            result = connection.execute(text(f"SELECT {', '.join(sorted(columns))} FROM {table} ORDER BY {order}"))
            rows[table] = [dict(row._mapping) for row in result]
    engine.dispose()
    return rows


def same_values(before: list[dict], after: list[dict]) -> bool:
    # Money changed type (INTEGER -> NUMERIC); 340 and Decimal("340.00") are the same amount.
    def normal(row):
        return {key: Decimal(value) if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else value
                for key, value in row.items()}
    return [normal(r) for r in before] == [normal(r) for r in after]


def test_fresh_database_upgrades_and_downgrades_to_empty(scratch_app):
    with scratch_app.app_context():
        from oxnack_admin.extensions import db
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "servers", "transactions", "services", "promocodes", "sessions", "staff",
                "audit_log", "provisioning_runs", "provisioning_steps", "mail_messages"} <= tables
        downgrade(revision="base")
        db.engine.dispose()
        inspector = inspect(db.engine)
        assert inspector.get_table_names() == ["alembic_version"]
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 0
            assert connection.execute(text("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                                           "c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'S'")
                                      ).scalar_one() == 0


def test_models_and_migrations_agree(scratch_app):
    """`flask db check`: the head schema is exactly what the models declare."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from oxnack_admin.extensions import db
    with scratch_app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []


def test_adopt_legacy_keeps_every_row(scratch_app):
    load_legacy(scratch_app)
    before = snapshot(scratch_app)
    result = scratch_app.test_cli_runner().invoke(args=["adopt-legacy"])
    assert result.exit_code == 0, result.output
    assert "stamping baseline 0001_legacy_baseline" in result.output
    assert "every legacy row kept" in result.output
    after = snapshot(scratch_app)
    for table in LEGACY_TABLES:
        assert len(after[table]) == len(before[table]) > 0, table
        assert same_values(before[table], after[table]), table
    # Adopting twice is harmless: it only upgrades.
    again = scratch_app.test_cli_runner().invoke(args=["adopt-legacy"])
    assert again.exit_code == 0 and "already adopted" in again.output


def test_adopted_ledger_rows_are_linked_and_dated(scratch_app):
    load_legacy(scratch_app)
    scratch_app.test_cli_runner().invoke(args=["adopt-legacy"])
    engine = create_engine(scratch_app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, user_id, to_char(created_at, 'DD.MM.YYYY') AS day, date "
                                       "FROM transactions ORDER BY id")).all()
        hashes = dict(connection.execute(text("SELECT mail, passwd_hash FROM users WHERE mail IS NOT NULL")).all())
    engine.dispose()
    assert [(r.id, r.user_id) for r in rows] == [(1, 1), (2, 1), (3, 26), (4, 2)]  # by username, then tg_id
    assert all(r.day == r.date for r in rows)
    for mail, password in SAMPLE_PASSWORDS.items():
        matches, upgraded = verify_password(hashes[mail], password)
        assert matches and upgraded.startswith("$argon2")


def test_each_revision_downgrades_with_legacy_rows_kept(scratch_app):
    load_legacy(scratch_app)
    before = snapshot(scratch_app)
    scratch_app.test_cli_runner().invoke(args=["adopt-legacy"])
    with scratch_app.app_context():
        downgrade(revision="0001_legacy_baseline")
    after = snapshot(scratch_app)
    for table in LEGACY_TABLES:
        assert same_values(before[table], after[table]), table


def test_adopt_refuses_a_foreign_schema(scratch_app):
    engine = create_engine(scratch_app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE users (id SERIAL PRIMARY KEY, nick TEXT)"))
    engine.dispose()
    result = scratch_app.test_cli_runner().invoke(args=["adopt-legacy"])
    assert result.exit_code != 0
    assert "not the legacy schema" in result.output
