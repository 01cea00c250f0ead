"""crypto-addresses: index,address,invoice_id of every deposit address, for the offline wallet that sweeps."""
import click
from flask.cli import with_appcontext

from oxnack_admin.services.crypto import admin


@click.command("crypto-addresses")
@with_appcontext
def crypto_addresses_command() -> None:
    """Print every deposit address handed out as CSV: index,address,invoice_id (the path is m/44'/60'/0'/0/index)."""
    click.echo("index,address,invoice_id")
    for index, address, invoice_id in admin.address_rows():
        click.echo(f"{index},{address},{invoice_id}")
