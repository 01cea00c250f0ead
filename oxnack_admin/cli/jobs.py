"""`flask worker`, `flask scheduler` and `flask simulators`: the background side of the product."""
import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Exit once the queues are empty.")
@click.option("--no-scheduler", is_flag=True,
              help="Do not move retries waiting for their interval back onto the queues.")
@with_appcontext
def worker_command(queues: tuple[str, ...], burst: bool, no_scheduler: bool) -> None:
    """Run an RQ worker on QUEUES (default WORKER_QUEUES: mail, telegram, default, provisioning), in that priority."""
    from jobs.worker import run_worker

    try:
        run_worker(current_app._get_current_object(), queues or None, burst=burst, with_scheduler=not no_scheduler)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="QUEUES") from None


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the RQ cron scheduler: the sweep every SWEEP_INTERVAL_SECONDS, the billing cycle on BILLING_CYCLE_CRON."""
    from jobs.worker import build_scheduler

    build_scheduler(current_app._get_current_object()).start()


@click.command("simulators")
@click.option("--proxmox-port", default=0, show_default=True, help="0 picks a free port.")
@click.option("--pfsense-port", default=0, show_default=True, help="0 picks a free port.")
@click.option("--platega-port", default=0, show_default=True, help="0 picks a free port.")
@click.option("--platega-callback-url", default="http://127.0.0.1:7002/platega/callback", show_default=True,
              help="Where the simulated Platega sends its callbacks; empty: no Platega simulator.")
@with_appcontext
def simulators_command(proxmox_port: int, pfsense_port: int, platega_port: int, platega_callback_url: str) -> None:
    """Serve simulated Proxmox, pfSense and Platega on loopback (pool VMs from the database) until stopped.

    Prints the environment variables that point web and worker processes at them.
    """
    from oxnack_admin.cli.simulators import start_simulators

    started = start_simulators(current_app.config, proxmox_port=proxmox_port, pfsense_port=pfsense_port,
                               platega_port=platega_port, platega_callback_url=platega_callback_url or None)
    for name, value in started.environment.items():
        click.echo(f"{name}={value}")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        while not stop.wait(1):
            pass
    finally:
        started.stop()
