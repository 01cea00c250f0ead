"""`flask telegram-poll` (long polling, for hosts without public HTTPS) and `flask telegram-webhook set|delete`."""
import logging
import signal
import threading
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from oxnack_admin.clients.telegram import BotApi, TelegramError
from oxnack_admin.clients.errors import RemoteError
from oxnack_admin.services.telegram import updates

log = logging.getLogger(__name__)


def _api() -> BotApi:
    try:
        return BotApi.from_config(current_app.config)
    except RemoteError as exc:
        raise click.ClickException(exc.message) from None


@click.command("telegram-poll")
@click.option("--once", is_flag=True, help="One getUpdates call, then exit.")
@with_appcontext
def telegram_poll_command(once: bool) -> None:
    """Fetch updates with getUpdates (offset = last update_id + 1) and queue each for handling."""
    api, timeout = _api(), int(current_app.config["TELEGRAM_POLL_TIMEOUT"])
    stop = threading.Event()
    if not once:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    offset = None
    while not stop.is_set():
        try:
            batch = api.get_updates(offset, 0 if once else timeout)
        except TelegramError as exc:
            log.warning("getUpdates failed: %s", exc.message)
            if once:
                raise click.ClickException(exc.message) from None
            stop.wait(getattr(exc, "retry_after", 3))
            continue
        for item in batch or []:
            parsed = updates.parse_object(item)
            if parsed is None:
                continue
            updates.accept(parsed)
            offset = max(offset or 0, parsed["update_id"] + 1)
        if once:
            click.echo(f"{len(batch or [])} updates")
            return
        if not batch:
            time.sleep(0.1)


@click.command("telegram-webhook")
@click.argument("action", type=click.Choice(["set", "delete"]))
@click.argument("url", required=False)
@with_appcontext
def telegram_webhook_command(action: str, url: str | None) -> None:
    """`set URL` registers the webhook (with TELEGRAM_WEBHOOK_SECRET); `delete` removes it."""
    api = _api()
    try:
        if action == "delete":
            api.delete_webhook()
            click.echo("webhook deleted")
            return
        if not url:
            raise click.UsageError("set needs the public URL, e.g. https://api.example.com/telegram/webhook")
        secret = current_app.config.get("TELEGRAM_WEBHOOK_SECRET")
        if not secret:
            raise click.ClickException("TELEGRAM_WEBHOOK_SECRET is empty: the webhook would refuse every update")
        api.set_webhook(url, secret)
    except TelegramError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"webhook set to {url}")
