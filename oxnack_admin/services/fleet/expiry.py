"""Warnings to owners whose rented servers run out soon, one per server and paid period."""
import logging
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import select

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import Server, User
from oxnack_admin.services.mail import mail

log = logging.getLogger(__name__)


def warn_expiring_servers(days: int | None = None) -> list[int]:
    """Queue an expiry_warning mail for each sold server whose paid_until falls within `days`; commits."""
    days = current_app.config["EXPIRY_WARNING_DAYS"] if days is None else days
    now = datetime.now(timezone.utc)
    rows = db.session.execute(
        select(Server, User).join(User, User.username == Server.username)
        .where(Server.busy.is_(True), Server.paid_until > now, Server.paid_until <= now + timedelta(days=days))
    ).all()
    warned = []
    for server, user in rows:
        if not user.mail:
            continue
        # One warning per paid period: the key names the period's end and outlives the window.
        key = f"oxnack:expiry-warned:{server.id}:{server.paid_until:%Y%m%d}"
        if not redis_client.set(key, "1", nx=True, ex=(days + 2) * 86400):
            continue
        try:
            mail.queue_templated_mail(user.mail, "expiry_warning", server_id=server.id, ip=server.first_ip,
                                      paid_until=server.paid_until.strftime("%d.%m.%Y"),
                                      days_left=max(0, (server.paid_until - now).days))
            db.session.commit()
        except Exception:
            db.session.rollback()
            redis_client.delete(key)  # not queued, so the next run must try again
            raise
        warned.append(server.id)
    if warned:
        log.info("expiry warnings queued for servers %s", warned)
    return warned
