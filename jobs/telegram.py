"""Telegram jobs (queue `telegram`): send one outbox row, handle one update, delete a secret."""
from oxnack_admin.services.telegram import bot, outbox, updates

from . import current_job_id, is_last_attempt, rq_attempt


def send_message(message_id: int) -> None:
    """Send one recorded message, at most once."""
    with rq_attempt():
        outbox.deliver(message_id, job_id=current_job_id(), last_attempt=is_last_attempt())


def handle_update(update_id: int) -> None:
    """Handle one received update once; a failure is recorded on the row and raised for RQ."""
    payload = updates.claim(update_id)
    if payload is None:
        return
    try:
        bot.dispatch(payload)
    except Exception as exc:
        updates.finish(update_id, exc)
        raise
    updates.finish(update_id)


def delete_secret(message_id: int) -> None:
    """Delete a root password's message from the chat once TELEGRAM_SECRET_TTL_MINUTES are up."""
    outbox.delete_secret(message_id)
