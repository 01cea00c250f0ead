"""Operators' flask commands, with the exact signatures their scripts rely on."""
import os
import subprocess
import sys

from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, MarketService, Promocode, Server, Staff, Transaction, User
from oxnack_admin.services.staff.staff import authenticate
from oxnack_admin.settings import PROJECT_ROOT


def test_create_staff_with_password(app, runner):
    result = runner.invoke(args=["create-staff", "Boss@Example.com", "--role", "owner", "--password", "long-password-1"])
    assert result.exit_code == 0, result.output
    assert "created owner boss@example.com" in result.output
    staff = authenticate("boss@example.com", "long-password-1")
    assert staff is not None and staff.role == "owner"
    assert db.session.scalar(select(AuditEvent.action)) == "staff.create"


def test_create_staff_prompts_for_the_password(app, runner):
    result = runner.invoke(args=["create-staff", "help@example.com", "--role", "support"],
                           input="prompted-password\nprompted-password\n")
    assert result.exit_code == 0, result.output
    assert authenticate("help@example.com", "prompted-password").role == "support"


def test_create_staff_refuses_bad_input(app, runner):
    assert runner.invoke(args=["create-staff", "a@b.c", "--role", "god", "--password", "x" * 12]).exit_code == 2
    short = runner.invoke(args=["create-staff", "a@b.c", "--role", "admin", "--password", "short"])
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    runner.invoke(args=["create-staff", "a@b.c", "--role", "admin", "--password", "x" * 12])
    again = runner.invoke(args=["create-staff", "A@B.C", "--role", "admin", "--password", "y" * 12])
    assert again.exit_code == 1 and "already has a staff account" in again.output
    assert db.session.scalar(select(func.count(Staff.id))) == 1


def test_seed_demo_is_idempotent_and_books_opening_balances(app, runner):
    first = runner.invoke(args=["seed-demo", "--staff-password", "demo-owner-pass"])
    assert first.exit_code == 0, first.output
    assert "staff login: owner@oxnack.local / demo-owner-pass" in first.output
    counts = lambda: [db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
                      for model in (User, Server, Promocode, MarketService, Staff, Transaction)]
    seeded = counts()
    assert all(seeded)
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert counts() == seeded
    # Every opening balance is a ledger row.
    for user in db.session.scalars(select(User)):
        booked = db.session.scalar(select(func.coalesce(func.sum(Transaction.amount), 0))
                                   .where(Transaction.user_id == user.id))
        assert booked == user.balance


def test_flask_routes_lists_feature_blueprints(app, database_url, redis_url):
    """The real `flask --app wsgi routes`, as an operator runs it."""
    environment = dict(os.environ, OXNACK_ENV="development", DATABASE_URL=database_url, REDIS_URL=redis_url,
                       OXNACK_CONFIG="/nonexistent/config.py")
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "routes"], cwd=PROJECT_ROOT,
                            env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    endpoints = {line.split()[0] for line in result.stdout.splitlines()[2:] if line.strip()}
    blueprints = {endpoint.split(".")[0] for endpoint in endpoints if "." in endpoint}
    assert {"health", "auth", "account", "orders", "market", "mail_relay", "openapi", "console", "media"} <= blueprints
    assert {"health.show_health", "auth.login", "orders.create_machine", "console.dashboard_view"} <= endpoints


def test_seed_demo_refuses_to_run_in_production(app, database_url, redis_url):
    from sqlalchemy import func, select

    from oxnack_admin import create_app
    from oxnack_admin.extensions import db
    from oxnack_admin.models import Server, Staff, User
    from tests.conftest import make_test_config

    production = create_app(make_test_config(database_url, redis_url, OXNACK_ENV="production"))
    with production.app_context():  # pytest-flask keeps the session app's context pushed; this one wins
        result = production.test_cli_runner().invoke(args=["seed-demo", "--staff-password", "demo-owner-pass"])
        assert result.exit_code != 0 and "refuses to run in production" in result.output
        assert [db.session.scalar(select(func.count()).select_from(model)) for model in (User, Server, Staff)] == [0, 0, 0]
