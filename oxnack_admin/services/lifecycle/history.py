"""A server's history (`server_events`) and the mails that tell its owner what happened."""
from datetime import datetime

from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import Server, ServerEvent, User
from oxnack_admin.services.lifecycle import clock
from oxnack_admin.services import notices


def record(server: Server, kind: str, staff=None, username: str | None = None, **detail) -> ServerEvent:
    """Add one event to the server's history, in the caller's transaction."""
    event = ServerEvent(server_id=server.id, kind=kind, username=username or server.username,
                        staff_id=getattr(staff, "id", None), detail=_jsonable(detail) or None, created_at=clock.now())
    db.session.add(event)
    return event


def events_of(server_id: int, limit: int = 50) -> list[ServerEvent]:
    return list(db.session.scalars(select(ServerEvent).where(ServerEvent.server_id == server_id)
                                   .order_by(ServerEvent.id.desc()).limit(limit)))


def mail_owner(owner: User | None, kind: str, server: Server, **context) -> bool:
    """Queue a lifecycle notice to the owner (mail and/or Telegram, sent after the commit); False when it reaches nobody."""
    return notices.notify(owner, kind, server_id=server.id, ip=server.first_ip, **context)


def shown_date(moment: datetime | None) -> str:
    """Dates in mails, as the other mails write them."""
    return moment.strftime("%d.%m.%Y") if moment else ""


def _jsonable(detail: dict) -> dict:
    return {key: value.isoformat() if isinstance(value, datetime) else
            str(value) if not isinstance(value, (int, float, bool, str, type(None), list, dict)) else value
            for key, value in detail.items()}
