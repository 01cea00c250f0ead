"""Sending a newsletter: each recipient at most once, at the shared pace, whatever happens to a worker.

A sender takes the next `queued` row under FOR UPDATE SKIP LOCKED, waits for the pace (still
holding only that lock: a worker killed now leaves the row queued), marks it `sending` and
commits, and only then calls Telegram. A row found `sending` is never sent again: the sweep
records it `uncertain`. 429: the whole broadcast waits retry_after and the row goes back to the
queue. 403: the chat is marked unreachable and the row `blocked`. 400: `failed` with the reason.
A 5xx answer puts the row back (nothing arrived); a timeout or a reset is `uncertain` (it may have).
Mail rows are queued into the mail outbox in the same commit that marks them sent.
"""
import logging
import time
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import exists, select, update

from oxnack_admin.clients.telegram import BadRequest, RateLimited, Unavailable, Unreachable
from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import Newsletter, NewsletterRecipient, TelegramChat, User
from oxnack_admin.models.enums import NewsletterState, RecipientState as State
from oxnack_admin.services.mail import mail
from oxnack_admin.services.ops import queueing
from oxnack_admin.services.support import newsletters, pace
from oxnack_admin.services.telegram import outbox

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "oxnack:newsletter:{}:sender"
HEARTBEAT_SECONDS = 30
UNAVAILABLE_PAUSE = 2.0  # seconds a sender waits after Telegram answered 5xx


def send_slice(newsletter_id: int) -> int:
    """Send until nothing is left, the newsletter stops, or NEWSLETTER_SLICE_SECONDS pass (then queue the rest)."""
    deadline = time.monotonic() + float(current_app.config["NEWSLETTER_SLICE_SECONDS"])
    newsletter = db.session.get(Newsletter, newsletter_id)
    if newsletter is None:
        return 0
    telegram_text = newsletters.telegram_text(newsletter)
    handled = 0
    while time.monotonic() < deadline:
        redis_client.set(HEARTBEAT_KEY.format(newsletter_id), "1", ex=HEARTBEAT_SECONDS)
        if not _send_next(newsletter, telegram_text):
            break
        handled += 1
    else:
        queueing.enqueue(newsletters.QUEUE, newsletters.JOB, newsletter_id, job_timeout=newsletters.job_timeout())
    finish_if_done(newsletter_id)
    return handled


def _send_next(newsletter: Newsletter, telegram_text: str) -> bool:
    """One recipient handled; False when there is none left to take (or the newsletter is not sending)."""
    row = db.session.execute(
        select(NewsletterRecipient).where(
            NewsletterRecipient.newsletter_id == newsletter.id, NewsletterRecipient.state == State.QUEUED,
            exists().where(Newsletter.id == newsletter.id, Newsletter.state == NewsletterState.SENDING))
        .order_by(NewsletterRecipient.id).limit(1).with_for_update(skip_locked=True)).scalar_one_or_none()
    if row is None:
        db.session.rollback()
        return False
    refused = _refusal(row)
    if refused is not None:
        _record(row, *refused)
        return True
    if row.channel == "mail":
        mail.queue_mail(row.address, newsletter.title, newsletters.mail_body(newsletter, row.user_id), "newsletter")
        _record(row, State.SENT, None)
        return True
    chat_id = int(row.address)
    token = pace.acquire(chat_id)  # the row's lock is held meanwhile; nobody else takes it
    row.state, row.attempted_at = State.SENDING, _now()
    db.session.commit()  # from here on it is never sent again
    try:
        outbox.api().send_message(chat_id, telegram_text)
    except RateLimited as exc:
        pace.finish(chat_id, token)
        pace.pause(exc.retry_after)
        _record(row, State.QUEUED, f"429: retry after {exc.retry_after} s")
        return True
    except Unreachable as exc:
        pace.finish(chat_id, token)
        outbox.mark_unreachable(chat_id, exc.message)
        _record(row, State.BLOCKED, exc.message)
        return True
    except BadRequest as exc:
        pace.finish(chat_id, token)
        _record(row, State.FAILED, exc.message)
        return True
    except Unavailable as exc:
        pace.finish(chat_id, token)
        if exc.error_code is None:  # no answer at all: Telegram may have taken it
            _record(row, State.UNCERTAIN, exc.message)
            return True
        _record(row, State.QUEUED, exc.message)
        time.sleep(UNAVAILABLE_PAUSE)
        return True
    pace.finish(chat_id, token)
    _record(row, State.SENT, None)
    return True


def _refusal(row: NewsletterRecipient) -> tuple[str, str] | None:
    """Why this row is not sent at all: its person opted out since the start, or the chat is unreachable."""
    user = db.session.get(User, row.user_id) if row.user_id else None
    chat = db.session.get(TelegramChat, int(row.address)) if row.channel == "telegram" else None
    if (user is not None and user.newsletters_off_at) or (chat is not None and chat.newsletters_off_at):
        return State.UNSUBSCRIBED, "opted out of newsletters"
    if chat is not None and chat.blocked_at is not None:
        return State.BLOCKED, outbox.UNREACHABLE
    return None


def _record(row: NewsletterRecipient, state: str, error: str | None) -> None:
    """The row's outcome, committed; a database hiccup right after Telegram took it is ridden out."""
    row_id = row.id
    for pause_seconds in (0.2, 0.5, 1.0, 2.0, None):
        try:
            db.session.execute(update(NewsletterRecipient).where(NewsletterRecipient.id == row_id).values(
                state=state, error=error[:300] if error else None, sent_at=_now() if state == State.SENT else None))
            db.session.commit()
            return
        except Exception:
            db.session.rollback()
            if pause_seconds is None:
                raise
            time.sleep(pause_seconds)


def finish_if_done(newsletter_id: int) -> bool:
    """A sending newsletter with nobody queued or in the middle of a send is done. Commits."""
    open_rows = exists().where(NewsletterRecipient.newsletter_id == newsletter_id,
                               NewsletterRecipient.state.in_((State.QUEUED, State.SENDING)))
    finished = db.session.execute(update(Newsletter).where(
        Newsletter.id == newsletter_id, Newsletter.state == NewsletterState.SENDING, ~open_rows)
        .values(state=NewsletterState.DONE, finished_at=_now()).returning(Newsletter.id)).scalar()
    db.session.commit()
    return finished is not None


def sweep(older_than_minutes: float | None = None) -> dict:
    """Rows a dead worker left `sending` become `uncertain` (never resent); a newsletter without a live sender gets one."""
    minutes = current_app.config["TELEGRAM_STUCK_MINUTES"] if older_than_minutes is None else older_than_minutes
    cutoff = _now() - timedelta(minutes=float(minutes))
    uncertain = db.session.execute(update(NewsletterRecipient).where(
        NewsletterRecipient.state == State.SENDING, NewsletterRecipient.attempted_at <= cutoff).values(
        state=State.UNCERTAIN, error="the worker stopped while handing it to Telegram; it may have arrived, "
                                     "so it is not sent again").returning(NewsletterRecipient.id)).scalars().all()
    db.session.commit()
    restarted = []
    for newsletter_id in db.session.scalars(select(Newsletter.id).where(Newsletter.state == NewsletterState.SENDING)):
        if older_than_minutes != 0 and redis_client.exists(HEARTBEAT_KEY.format(newsletter_id)):
            continue  # a sender is at work
        if not finish_if_done(newsletter_id):
            queueing.enqueue(newsletters.QUEUE, newsletters.JOB, newsletter_id, job_timeout=newsletters.job_timeout())
            restarted.append(newsletter_id)
    if uncertain:
        log.warning("newsletter recipients %s were left mid-send by a dead worker: recorded uncertain", list(uncertain))
    return {"uncertain": list(uncertain), "restarted": restarted}


def _now() -> datetime:
    return datetime.now(timezone.utc)
