"""create-token EMAIL [--name NAME]: a staff API token, printed once."""
import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from ..extensions import db
from ..models import Staff
from oxnack_admin.services.staff import api_tokens


@click.command("create-token")
@click.argument("email")
@click.option("--name", default=None, help="What the token is for, e.g. \"proxy sync cron\".")
@with_appcontext
def create_token_command(email: str, name: str | None) -> None:
    """Create an API token for a staff member; it is shown only this once."""
    staff = db.session.scalar(select(Staff).where(func.lower(Staff.email) == email.strip().lower()))
    if staff is None:
        raise click.ClickException(f"no staff account {email.strip().lower()}")
    try:
        row, token = api_tokens.issue(staff, name)
        db.session.commit()
    except api_tokens.TokenError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    # Only the token goes to stdout, so `TOKEN=$(flask create-token ...)` captures exactly it.
    click.echo(f"created token {row.id} \"{row.name}\" for {staff.email} ({staff.role}); "
               "store it now, it is shown only once:", err=True)
    click.echo(token)
