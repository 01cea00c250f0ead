"""seed-demo: demo data for the embedded default."""
import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from oxnack_admin.cli import demo_data as demo


@click.command("seed-demo")
@click.option("--staff-password", default=None, help="Password of the demo owner (random when omitted).")
@with_appcontext
def seed_demo_command(staff_password: str | None) -> None:
    """Add demo customers, a VM pool, promocodes, market services and a staff owner (idempotent).

    Refused when OXNACK_ENV is production: fake customers, money and a known owner do not belong there.
    """
    if current_app.config["OXNACK_ENV"] == "production":
        raise click.ClickException("seed-demo refuses to run in production (OXNACK_ENV=production): it adds "
                                   "fake customers, balances and a staff owner")
    for line in demo.seed(staff_password):
        click.echo(line)
    db.session.commit()
