"""seed-demo: demo data for the embedded default."""
import click
from flask.cli import with_appcontext

from ..extensions import db
from oxnack_admin.cli import demo_data as demo


@click.command("seed-demo")
@click.option("--staff-password", default=None, help="Password of the demo owner (random when omitted).")
@with_appcontext
def seed_demo_command(staff_password: str | None) -> None:
    """Add demo customers, a VM pool, promocodes, market services and a staff owner (idempotent)."""
    for line in demo.seed(staff_password):
        click.echo(line)
    db.session.commit()
