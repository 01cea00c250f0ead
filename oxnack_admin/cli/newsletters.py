"""import-telegram-subscribers FILE: the old support bot's data.csv becomes newsletter recipients."""
import click
from flask.cli import with_appcontext

from oxnack_admin.services.support import subscribers


@click.command("import-telegram-subscribers")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_telegram_subscribers_command(path: str) -> None:
    """Import `user_id,username` rows (header or not, empty usernames, repeats); customers are matched by tg_id."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        result = subscribers.import_csv(handle.read())
    click.echo(f"{result.imported} new subscriber(s), {result.customers} customer(s) matched by tg_id, "
               f"{result.already} already known or repeated, {len(result.skipped)} unreadable row(s)")
    for line in result.skipped[:20]:
        click.echo(f"  skipped {line}", err=True)
