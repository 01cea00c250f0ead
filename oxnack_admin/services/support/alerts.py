"""Staff alerts to TELEGRAM_STAFF_CHAT_ID: one cause at most once per ALERT_REPEAT_MINUTES, with a console link.

The repeat window is a Redis key set with NX and EX: whichever process sees the cause first
sends, every other one within the window stays quiet. The message itself is an outbox row in
the caller's transaction (the caller commits), so it is sent once and survives Telegram outages.
"""
import html
import logging

from flask import current_app, has_request_context, url_for
from redis.exceptions import RedisError
from sqlalchemy import select

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import ProxySyncRun
from oxnack_admin.models.enums import RunState
from oxnack_admin.services.ops import queueing
from oxnack_admin.services.telegram import outbox

log = logging.getLogger(__name__)

SYNC_FAILURES = 3  # proxy syncs failing in a row before staff hear of it

# The causes the contract lists; the text names the cause, the link the page that resolves it.
CAUSES = {
    "new_ticket": "New support ticket",
    "provisioning_failed": "Provisioning failed",
    "wipe_failed": "A wipe failed",
    "payment_flagged": "A payment needs attention",
    "proxy_order_flagged": "A proxy order is flagged",
    "upstream_balance": "The proxy upstream refuses buys: our balance there is too low (403)",
    "proxy_sync_failing": "The proxy sync failed three times running",
    "queue_backlog": "A queue is backed up",
    "crypto_chain_mismatch": "The crypto node is on another chain: crypto top-ups are not credited",
}


def staff_chat() -> int | None:
    value = str(current_app.config.get("TELEGRAM_STAFF_CHAT_ID") or "").strip()
    try:
        return int(value) if value else None
    except ValueError:
        log.warning("TELEGRAM_STAFF_CHAT_ID is not a chat id; staff alerts are off")
        return None


def alert(cause: str, detail: str, link: tuple[str, dict] | None = None) -> bool:
    """Queue an alert for `cause` unless one went out within ALERT_REPEAT_MINUTES; True when queued."""
    chat = staff_chat()
    if chat is None or not outbox.bot_enabled():
        return False
    seconds = max(1, int(float(current_app.config["ALERT_REPEAT_MINUTES"]) * 60))
    try:
        if not redis_client.set(f"oxnack:alert:{cause}", "1", nx=True, ex=seconds):
            return False
    except RedisError as exc:  # an alert never breaks what raised it
        log.warning("staff alert %s not sent: Redis %s", cause, exc.__class__.__name__)
        return False
    lines = [f"⚠️ <b>{html.escape(CAUSES.get(cause, cause), quote=False)}</b>", html.escape(detail, quote=False)]
    if link is not None:
        lines.append(f'<a href="{html.escape(absolute_url(*link))}">Open in the console</a>')
    outbox.queue_message(chat, "\n".join(lines), kind="staff_alert")
    return True


def absolute_url(endpoint: str, values: dict) -> str:
    """An absolute link to one of our pages, also from a job (PUBLIC_BASE_URL, else TELEGRAM_PUBLIC_URL)."""
    base = current_app.config.get("PUBLIC_BASE_URL") or current_app.config.get("TELEGRAM_PUBLIC_URL") or ""
    if has_request_context() and not base:
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=base or "http://localhost"):
        return url_for(endpoint, _external=True, **values)


def check_proxy_sync_failures() -> bool:
    """After a failed proxy sync: alert when the last three runs all failed. Commits."""
    last = db.session.execute(select(ProxySyncRun.state, ProxySyncRun.error).order_by(ProxySyncRun.id.desc())
                              .limit(SYNC_FAILURES)).all()
    if len(last) < SYNC_FAILURES or any(state != RunState.FAILED for state, _ in last):
        return False
    sent = alert("proxy_sync_failing", f"The last error: {last[0][1] or 'unknown'}", ("console.proxies", {}))
    db.session.commit()
    return sent


def check_queue_backlog() -> list[str]:
    """The sweep's look at the queues: one alert when any holds more than ALERT_QUEUE_BACKLOG jobs. Commits."""
    limit = int(current_app.config["ALERT_QUEUE_BACKLOG"])
    try:
        backed_up = {name: queueing.get_queue(name).count for name in queueing.QUEUE_NAMES}
    except RedisError:
        return []
    backed_up = {name: depth for name, depth in backed_up.items() if depth > limit}
    if backed_up:
        alert("queue_backlog", ", ".join(f"{name}: {depth} waiting" for name, depth in backed_up.items())
              + f" (more than {limit}); are the workers running?", ("console.jobs", {}))
        db.session.commit()
    return sorted(backed_up)
