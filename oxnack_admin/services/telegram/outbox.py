"""Messages to Telegram: a `telegram_messages` row first, then the `jobs.telegram.send_message` job sends it.

Sent at most once: the job marks the row `sending` (committed) before it calls Telegram and
`sent` right after. A job that finds a row `sending` never calls again: a worker that died in
between may have had its message accepted, so the sweep records it `uncertain` (staff see it)
instead of sending it twice. The window this leaves: a worker killed after the `sending` mark and
before Telegram got the request loses that one message (recorded `uncertain`, not silently).
A read timeout is the other way round, as with mail's SMTP 250: Telegram may have taken a message
whose answer was lost, and the retry sends it again. Never lost while Telegram is down: 5xx and
timeouts leave the row `queued`, RQ retries it, and the sweep queues it again after the retries.
429 waits `retry_after` and sends the same row; 403 marks the chat unreachable and records what
was meant for it as `undelivered`; 400 is recorded and not retried.
"""
import logging
import time
from datetime import datetime, timedelta, timezone

from flask import current_app
from rq import Retry
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import func, select, update

from oxnack_admin.clients.telegram import BadRequest, BotApi, RateLimited, Unavailable, Unreachable
from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import TelegramChat, TelegramMessage
from oxnack_admin.models.enums import TelegramMessageState as State
from oxnack_admin.services import sealed
from oxnack_admin.services.ops import metrics, queueing
from oxnack_admin.services.ops.retryable import describe

log = logging.getLogger(__name__)

JOB = "jobs.telegram.send_message"
DELETE_JOB = "jobs.telegram.delete_secret"
MAX_TEXT = 4096
REDACTED = "[removed after delivery]"
UNREACHABLE = "the chat is unreachable (the user blocked the bot); not sent"


def fit(text: str) -> str:
    """Telegram takes at most 4,096 characters; a longer text is cut with an ellipsis."""
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def bot_enabled() -> bool:
    return bool(current_app.config.get("TELEGRAM_BOT_TOKEN"))


def api() -> BotApi:
    return BotApi.from_config(current_app.config)


def retry_policy() -> Retry | None:
    intervals = [int(seconds) for seconds in current_app.config.get("TELEGRAM_RETRY_INTERVALS") or []]
    return Retry(max=len(intervals), interval=intervals) if intervals else None


def queue_message(chat_id: int, text: str, *, kind: str = "reply", user_id: int | None = None,
                  reply_markup: dict | None = None, edit_message_id: int | None = None,
                  secret: bool = False, delete_after_minutes: int | None = None) -> TelegramMessage:
    """Record a message and send it once the current transaction commits (the caller commits).

    A chat known to be unreachable gets the row as `undelivered` and no job. A `secret` text is
    kept sealed until it is sent, then blanked; with `delete_after_minutes` the message is also
    deleted from the chat that long after it was sent.
    """
    text = fit(text)
    message = TelegramMessage(chat_id=chat_id, user_id=user_id, kind=kind, reply_markup=reply_markup,
                              edit_message_id=edit_message_id, secret=secret,
                              text=sealed.seal(text) if secret else text)
    if delete_after_minutes is not None:
        message.delete_after = datetime.max.replace(tzinfo=timezone.utc)  # set for real once sent
    chat = db.session.get(TelegramChat, chat_id)
    if chat is not None and chat.blocked_at is not None:
        message.state, message.last_error = State.UNDELIVERED, UNREACHABLE
        _forget_secret(message)
    db.session.add(message)
    db.session.flush()
    if message.state == State.QUEUED:
        queueing.enqueue_after_commit(queueing.TELEGRAM, JOB, message.id, retry=retry_policy())
    return message


def deliver(message_id: int, *, job_id: str | None = None, last_attempt: bool = True) -> TelegramMessage | None:
    """Send a queued message once; commits. Raises on a failure RQ should see (5xx, timeouts, 400)."""
    while True:
        message, claimed = _claim(message_id, job_id)
        if not claimed:
            return message
        try:
            result = _call(message)
        except RateLimited as exc:
            wait = exc.retry_after
            _back_to_queue(message_id, f"429: retry after {wait} s")
            _count("retried")
            if wait <= int(current_app.config["TELEGRAM_INLINE_WAIT_SECONDS"]):
                time.sleep(wait)
                continue  # the same row again
            job = queueing.get_queue(queueing.TELEGRAM).enqueue_in(timedelta(seconds=wait), JOB, message_id,
                                                                   retry=retry_policy())
            _set_job(message_id, job.id)
            return None
        except Unreachable as exc:
            return _unreachable(message_id, exc.message)
        except BadRequest as exc:
            _finish(message_id, State.FAILED, exc.message)
            raise
        except Unavailable as exc:
            _back_to_queue(message_id, exc.message)
            _count("retried")
            log.warning("telegram message %s not sent (attempt %s, %s): %s", message_id, message.attempts,
                        "last" if last_attempt else "will retry", exc.message)
            raise
        return _mark_sent(message_id, result)


def _claim(message_id: int, job_id: str | None) -> tuple[TelegramMessage | None, bool]:
    """Mark a queued row `sending` (committed) and say True; or give it up: too old, or its chat unreachable."""
    message = db.session.execute(select(TelegramMessage).where(TelegramMessage.id == message_id)
                                 .with_for_update(skip_locked=True)).scalar_one_or_none()
    if message is None or message.state != State.QUEUED:
        db.session.rollback()  # sent, given up, or another worker holds it now: never twice
        return message, False
    chat = db.session.get(TelegramChat, message.chat_id)
    if chat is not None and chat.blocked_at is not None:
        message.state, message.last_error = State.UNDELIVERED, UNREACHABLE
        _forget_secret(message)
        db.session.commit()
        _count("blocked")
        return message, False
    max_age = timedelta(hours=float(current_app.config["TELEGRAM_MESSAGE_MAX_AGE_HOURS"]))
    if message.created_at and _now() - message.created_at > max_age:
        message.state = State.FAILED
        message.last_error = f"not taken by Telegram within {max_age}; given up ({message.last_error or ''})"[:300]
        _forget_secret(message)
        db.session.commit()
        _count("failed")
        return message, False
    message.state, message.attempts, message.attempted_at = State.SENDING, message.attempts + 1, _now()
    message.job_id = job_id or message.job_id
    db.session.commit()
    return message, True


def _call(message: TelegramMessage):
    text = sealed.unseal(message.text) if message.secret else message.text
    if text is None:
        raise BadRequest("the sealed text cannot be read (SECRET_KEY changed?)")
    bot = api()
    if message.edit_message_id:
        return bot.edit_message_text(message.chat_id, message.edit_message_id, text, message.reply_markup)
    return bot.send_message(message.chat_id, text, message.reply_markup)


def _locked(message_id: int) -> TelegramMessage:
    return db.session.execute(select(TelegramMessage).where(TelegramMessage.id == message_id)
                              .with_for_update().execution_options(populate_existing=True)).scalar_one()


def _back_to_queue(message_id: int, error: str) -> None:
    message = _locked(message_id)
    message.state, message.last_error = State.QUEUED, error
    db.session.commit()


def _set_job(message_id: int, job_id: str) -> None:
    db.session.execute(update(TelegramMessage).where(TelegramMessage.id == message_id).values(job_id=job_id))
    db.session.commit()


def _finish(message_id: int, state: str, error: str | None) -> TelegramMessage:
    message = _locked(message_id)
    message.state, message.last_error = state, error
    _forget_secret(message)
    db.session.commit()
    _count("failed" if state == State.FAILED else state)
    return message


def _unreachable(message_id: int, reason: str) -> TelegramMessage:
    """403: the chat is marked unreachable; this row and every other one waiting for it are undelivered."""
    message = _locked(message_id)
    mark_unreachable(message.chat_id, reason)
    message.state, message.last_error = State.UNDELIVERED, reason
    _forget_secret(message)
    db.session.commit()
    _count("blocked")
    log.info("telegram chat %s is unreachable: %s", message.chat_id, reason)
    return message


def mark_unreachable(chat_id: int, reason: str) -> None:
    """Record the chat as unreachable (the caller commits); queued messages to it will be undelivered."""
    chat = db.session.get(TelegramChat, chat_id)
    if chat is None:
        chat = TelegramChat(chat_id=chat_id)
        db.session.add(chat)
    chat.blocked_at, chat.blocked_reason = _now(), reason[:300]


def _mark_sent(message_id: int, result) -> TelegramMessage:
    """Record what Telegram accepted; a database restart right now is ridden out, never answered by a resend."""
    for pause in (0.2, 0.5, 1.0, 2.0, 4.0, None):
        try:
            message = _locked(message_id)
            message.state, message.sent_at, message.last_error = State.SENT, _now(), None
            if isinstance(result, dict) and isinstance(result.get("message_id"), int):
                message.tg_message_id = result["message_id"]
            ttl = timedelta(minutes=int(current_app.config["TELEGRAM_SECRET_TTL_MINUTES"]))
            if message.delete_after is not None:
                message.delete_after = _now() + ttl
            _forget_secret(message)
            db.session.commit()
            _count("sent")
            if message.delete_after is not None:
                _schedule_delete(message.id, ttl)
            return message
        except Exception as exc:
            db.session.rollback()
            if pause is None:
                raise
            log.warning("telegram message %s was sent but is not recorded yet (%s)", message_id, describe(exc))
            time.sleep(pause)


def _schedule_delete(message_id: int, ttl: timedelta) -> None:
    try:
        queueing.get_queue(queueing.TELEGRAM).enqueue_in(ttl, DELETE_JOB, message_id)
    except RedisError:  # the sweep deletes it when due
        log.warning("telegram message %s: its deletion could not be scheduled; the sweep will do it", message_id)


def _count(outcome: str, count: int = 1) -> None:
    """The messages-by-outcome figure of /metrics (after the commit that recorded the outcome)."""
    metrics.record_telegram(redis_client.connection, outcome, count)


def _forget_secret(message: TelegramMessage) -> None:
    if message.secret:
        message.text = REDACTED


# --- the sweep, and secrets deleted from the chat ----------------------------------------------

def requeue_stale(older_than_minutes: float | None = None) -> dict:
    """Queue again `queued` rows whose job is gone; record `sending` rows a dead worker left as `uncertain`."""
    minutes = current_app.config["TELEGRAM_STUCK_MINUTES"] if older_than_minutes is None else older_than_minutes
    cutoff = _now() - timedelta(minutes=minutes)
    stale = db.session.execute(select(TelegramMessage.id, TelegramMessage.job_id).where(
        TelegramMessage.state == State.QUEUED, TelegramMessage.created_at <= cutoff)).all()
    requeued = [message_id for message_id, job_id in stale if not _job_waiting(job_id)]
    for message_id in requeued:
        queueing.enqueue(queueing.TELEGRAM, JOB, message_id, retry=retry_policy())
    uncertain = db.session.scalars(select(TelegramMessage).where(
        TelegramMessage.state == State.SENDING,
        func.coalesce(TelegramMessage.attempted_at, TelegramMessage.created_at) <= cutoff).with_for_update(skip_locked=True)).all()
    for message in uncertain:
        message.state = State.UNCERTAIN
        message.last_error = "the worker stopped while handing it to Telegram; it may have arrived, so it is not sent again"
        _forget_secret(message)
        log.warning("telegram message %s left `sending` by a dead worker: recorded uncertain, not resent", message.id)
    db.session.commit()
    if uncertain:
        _count("uncertain", len(uncertain))
    return {"requeued": requeued, "uncertain": [message.id for message in uncertain]}


def delete_secret(message_id: int) -> bool:
    """deleteMessage a sent secret once its time is up; True when it is gone (or cannot be deleted any more)."""
    message = db.session.get(TelegramMessage, message_id)
    if message is None or message.deleted_at is not None or message.tg_message_id is None:
        return False
    if message.delete_after is None or message.delete_after > _now():
        return False
    try:
        api().delete_message(message.chat_id, message.tg_message_id)
    except (BadRequest, Unreachable) as exc:  # already gone, too old to delete, or the chat blocked us
        log.info("telegram message %s could not be deleted: %s", message_id, exc.message)
    db.session.execute(update(TelegramMessage).where(TelegramMessage.id == message_id).values(deleted_at=_now()))
    db.session.commit()
    return True


def delete_due_secrets() -> list[int]:
    """The sweep: delete every secret whose time is up (a delete job lost or not run)."""
    due = db.session.scalars(select(TelegramMessage.id).where(
        TelegramMessage.delete_after <= _now(), TelegramMessage.deleted_at.is_(None),
        TelegramMessage.tg_message_id.is_not(None))).all()
    db.session.rollback()
    return [message_id for message_id in due if delete_secret(message_id)]


def _job_waiting(job_id: str | None) -> bool:
    """True while RQ still has the job waiting to run (a retry may be scheduled for later)."""
    if not job_id:
        return False
    try:
        status = Job.fetch(job_id, connection=redis_client.connection).get_status()
    except NoSuchJobError:
        return False
    return status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


def _now() -> datetime:
    return datetime.now(timezone.utc)
