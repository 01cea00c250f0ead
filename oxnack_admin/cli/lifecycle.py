"""`flask billing-cycle`: one pass of the server lifecycle now (the scheduler runs it hourly)."""
import click
from flask.cli import with_appcontext


@click.command("billing-cycle")
@with_appcontext
def billing_cycle_command() -> None:
    """Reminders, renewals, suspensions and terminations due now; safe to run twice or concurrently."""
    from oxnack_admin.services.lifecycle.cycle import run_cycle

    report = run_cycle()
    click.echo(f"billing cycle done: {report.summary()}")
