"""reset-2fa EMAIL: for an owner locked out of their second factor (the console needs another owner)."""
import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from ..extensions import db
from ..models import Staff
from oxnack_admin.services.staff import two_factor


@click.command("reset-2fa")
@click.argument("email")
@with_appcontext
def reset_2fa_command(email: str) -> None:
    """Forget a staff member's 2FA; they enrol again with a new secret at their next sign-in."""
    staff = db.session.scalar(select(Staff).where(func.lower(Staff.email) == email.strip().lower()))
    if staff is None:
        raise click.ClickException(f"no staff account {email}")
    two_factor.reset(staff, None)  # audited as "system": whoever has this shell
    db.session.commit()
    click.echo(f"two-factor sign-in of {staff.email} reset; they set it up again at their next sign-in")
