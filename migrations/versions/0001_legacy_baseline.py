"""The legacy Oxnack schema exactly as the old services left it.

An existing legacy database is stamped at this revision (`flask --app wsgi adopt-legacy`);
an empty one gets it built here.

Revision ID: 0001_legacy_baseline
Revises:
"""
from alembic import op

revision = "0001_legacy_baseline"
down_revision = None
branch_labels = None
depends_on = None

LEGACY_SCHEMA = """
CREATE TABLE users (
    id SERIAL PRIMARY KEY, username TEXT, mail TEXT, passwd_hash TEXT, is_verified BOOLEAN DEFAULT FALSE,
    cookie TEXT, tg_id BIGINT, tg_username TEXT, balance INTEGER DEFAULT 0, use BOOLEAN DEFAULT FALSE,
    date_start TEXT, date_stop TEXT, token TEXT, ref_id BIGINT, sub BOOLEAN DEFAULT FALSE, expires_at TEXT,
    name TEXT
);
CREATE TABLE servers (
    id INTEGER PRIMARY KEY, ram INTEGER, cores INTEGER, hdd INTEGER, ips TEXT[], lan_ip TEXT, os TEXT,
    status TEXT, passwd TEXT, mac TEXT, name TEXT, discription TEXT, busy BOOLEAN DEFAULT FALSE, username TEXT
);
CREATE TABLE transactions (
    id SERIAL PRIMARY KEY, username TEXT, tg_id BIGINT, type TEXT, amount INTEGER, date TEXT,
    discription TEXT, status TEXT, transaction_id TEXT
);
CREATE TABLE services (
    id SERIAL PRIMARY KEY, name_ru TEXT, description_ru TEXT, name_en TEXT, description_en TEXT,
    price_usd INTEGER, price_rub INTEGER, image_link TEXT, enabled BOOLEAN DEFAULT TRUE
);
CREATE TABLE promocodes (promo TEXT PRIMARY KEY, discount INTEGER);
"""


def upgrade():
    op.execute(LEGACY_SCHEMA)


def downgrade():
    op.execute("DROP TABLE promocodes, services, transactions, servers, users")
