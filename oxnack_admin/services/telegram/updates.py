"""Updates from Telegram (webhook or long polling): stored by `update_id` once, handled by a job once.

The webhook only stores the update and queues the job, so it answers at once. The job claims the
row (`received` -> `handling`, committed) before it acts: a repeat of the same update, or a
second job for it running at the same moment, finds it claimed and does nothing. A worker that
dies while handling leaves it `handling`: the customer's press is not replayed (it may have
moved money); the sweep records it `failed` for staff.
"""
import hmac
import json
import logging
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from oxnack_admin.extensions import db
from oxnack_admin.models import TelegramUpdate
from oxnack_admin.services.ops import queueing
from oxnack_admin.services.ops.retryable import describe

log = logging.getLogger(__name__)

JOB = "jobs.telegram.handle_update"
RECEIVED, HANDLING, HANDLED, FAILED = "received", "handling", "handled", "failed"
MAX_UPDATE_ID = 2 ** 63 - 1


def secret_matches(given: str | None) -> bool:
    """The webhook's secret header, compared in constant time; an empty setting matches nothing."""
    expected = current_app.config.get("TELEGRAM_WEBHOOK_SECRET") or ""
    return bool(expected) and hmac.compare_digest((given or "").encode(), expected.encode())


def parse(raw: bytes) -> dict | None:
    """The update as a dict with an integer update_id, or None for anything unreadable."""
    try:
        update_body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # nested too deep is unreadable too, never a 500
        return None
    return parse_object(update_body)


def parse_object(update_body) -> dict | None:
    """An update already decoded (getUpdates' list items), checked the same way."""
    if not isinstance(update_body, dict):
        return None
    update_id = update_body.get("update_id")
    if isinstance(update_id, bool) or not isinstance(update_id, int) or not 0 <= update_id <= MAX_UPDATE_ID:
        return None
    return update_body


def accept(update_body: dict) -> bool:
    """Store an update and queue its handling; False for an update_id seen before. Commits."""
    inserted = db.session.execute(insert(TelegramUpdate).values(update_id=update_body["update_id"],
                                                                payload=update_body, state=RECEIVED)
                                  .on_conflict_do_nothing().returning(TelegramUpdate.update_id)).scalar()
    if inserted is not None:
        queueing.enqueue_after_commit(queueing.TELEGRAM, JOB, inserted)
    db.session.commit()
    return inserted is not None


def claim(update_id: int) -> dict | None:
    """The payload of a received update, now `handling` (committed); None if handled or claimed already."""
    payload = db.session.execute(update(TelegramUpdate).where(TelegramUpdate.update_id == update_id,
                                                              TelegramUpdate.state == RECEIVED)
                                 .values(state=HANDLING).returning(TelegramUpdate.payload)).scalar()
    db.session.commit()
    return payload


def finish(update_id: int, error: BaseException | None = None) -> None:
    """Record the outcome; the payload (a customer's words) is dropped once handled."""
    db.session.rollback()
    db.session.execute(update(TelegramUpdate).where(TelegramUpdate.update_id == update_id).values(
        state=FAILED if error else HANDLED, error=describe(error) if error else None, handled_at=_now(),
        payload=None if error is None else TelegramUpdate.payload))
    db.session.commit()


def sweep() -> dict:
    """Queue updates whose job was lost; record as failed the ones a dead worker left; drop old ones."""
    cutoff = _now() - timedelta(minutes=float(current_app.config["TELEGRAM_STUCK_MINUTES"]))
    lost = db.session.scalars(select(TelegramUpdate.update_id).where(
        TelegramUpdate.state == RECEIVED, TelegramUpdate.received_at <= cutoff)).all()
    abandoned = db.session.execute(update(TelegramUpdate).where(
        TelegramUpdate.state == HANDLING, TelegramUpdate.received_at <= cutoff).values(
        state=FAILED, error="the worker stopped while handling it; not replayed", handled_at=_now())
        .returning(TelegramUpdate.update_id)).scalars().all()
    keep = timedelta(days=float(current_app.config["TELEGRAM_UPDATE_KEEP_DAYS"]))
    db.session.execute(delete(TelegramUpdate).where(TelegramUpdate.state != RECEIVED,
                                                    TelegramUpdate.received_at <= _now() - keep))
    db.session.commit()
    for update_id in lost:
        queueing.enqueue(queueing.TELEGRAM, JOB, update_id)
    if abandoned:
        log.warning("telegram updates %s were left half-handled by a dead worker", abandoned)
    return {"requeued": list(lost), "abandoned": list(abandoned)}


def _now() -> datetime:
    return datetime.now(timezone.utc)
