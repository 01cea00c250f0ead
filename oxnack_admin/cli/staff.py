"""create-staff EMAIL --role owner|admin|support [--password PW]"""
import click
from flask.cli import with_appcontext

from ..extensions import db
from ..models.enums import StaffRole
from oxnack_admin.services.staff import audit
from oxnack_admin.services.staff.staff import StaffError, create_staff


@click.command("create-staff")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in StaffRole]), required=True)
@click.option("--password", help="Prompted (hidden, twice) when omitted.")
@with_appcontext
def create_staff_command(email: str, role: str, password: str | None) -> None:
    """Create a staff account, e.g. the first owner."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        staff = create_staff(email, role, password)
        audit.record(None, "staff.create", "staff", staff.id, after={"email": staff.email, "role": role})
        db.session.commit()
    except StaffError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    click.echo(f"created {role} {staff.email} (id {staff.id})")
