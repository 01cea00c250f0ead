"""POST /telegram/webhook: Telegram delivers updates here; the handling runs in jobs.

With the right secret header the answer is 200 {"ok": true} for anything (an unreadable body
too: Telegram would resend it for ever), never a 5xx; without it 401 {"ok": false}.
"""
import logging

from flask import Blueprint, request
from werkzeug.exceptions import RequestEntityTooLarge

from oxnack_admin.extensions import csrf, db
from oxnack_admin.services.telegram import updates

bp = Blueprint("telegram", __name__)
csrf.exempt(bp)
log = logging.getLogger(__name__)


@bp.post("/telegram/webhook")
def webhook():
    if not updates.secret_matches(request.headers.get("X-Telegram-Bot-Api-Secret-Token")):
        return {"ok": False}, 401
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:  # Telegram never sends one; answering 413 would make it resend for ever
        log.warning("telegram webhook: an update over MAX_CONTENT_LENGTH was dropped")
        return {"ok": True}
    update_body = updates.parse(raw)
    if update_body is None:
        log.warning("telegram webhook: an unreadable update was dropped")
        return {"ok": True}
    try:
        updates.accept(update_body)
    except Exception as exc:  # the database is away: Telegram must not retry for ever, and never sees a 5xx
        db.session.rollback()
        log.error("telegram webhook: update %s could not be stored (%s); it is lost",
                  update_body["update_id"], type(exc).__name__)
    return {"ok": True}
