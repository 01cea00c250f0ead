"""adopt-legacy: take over the old Oxnack database named by DATABASE_URL."""
import click
from flask.cli import with_appcontext

from oxnack_admin.cli import legacy_adoption as legacy


@click.command("adopt-legacy")
@with_appcontext
def adopt_legacy_command() -> None:
    """Stamp the legacy baseline on an old database, then upgrade it to the newest schema."""
    try:
        for line in legacy.adopt():
            click.echo(line)
    except legacy.AdoptionError as error:
        raise click.ClickException(str(error)) from None
