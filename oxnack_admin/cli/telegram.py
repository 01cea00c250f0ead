"""`flask telegram-poll` (long polling, for hosts without public HTTPS) and `flask telegram-webhook set|delete`."""
import logging
import signal
import threading

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
@click.option("--max-updates", type=click.IntRange(min=1), default=None,
              help="Exit once this many updates were queued (a bounded run).")
@with_appcontext
def telegram_poll_command(once: bool, max_updates: int | None) -> None:
    """Fetch updates with getUpdates (offset = last update_id + 1) and queue each for handling."""
    api, timeout = _api(), int(current_app.config["TELEGRAM_POLL_TIMEOUT"])
    stop = threading.Event()
    if not once:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    try:
        queued = poll(api, 0 if once else timeout, stop, once=once, max_updates=max_updates)
    except TelegramError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{queued} updates")


def poll(api: BotApi, timeout: int, stop: threading.Event, *, once: bool = False,
         max_updates: int | None = None) -> int:
    """The poller's loop: queue each update once, until `stop`, one call (`once`) or `max_updates`.

    On the way out the last offset is confirmed with one more getUpdates (timeout 0), so Telegram
    does not deliver those updates again to the next poller.
    """
    offset, queued = None, 0
    while not stop.is_set():
        try:
            batch = api.get_updates(offset, timeout)
        except TelegramError as exc:
            log.warning("getUpdates failed: %s", exc.message)
            if once:
                raise
            stop.wait(getattr(exc, "retry_after", 3))
            continue
        for item in batch or []:
            parsed = updates.parse_object(item)
            if isinstance(item, dict) and isinstance(item.get("update_id"), int):
                offset = max(offset or 0, item["update_id"] + 1)  # an unreadable one is skipped, not refetched
            if parsed is not None:
                updates.accept(parsed)
                queued += 1
        if once or (max_updates is not None and queued >= max_updates):
            break
        if not batch:
            stop.wait(0.1)
    if offset is not None:
        try:
            api.get_updates(offset, 0)
        except TelegramError as exc:
            log.warning("getUpdates could not confirm offset %s: %s", offset, exc.message)
    return queued


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
