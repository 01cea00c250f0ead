"""A customer's servers as the legacy "my services" page reads them."""
from datetime import datetime, timezone

from sqlalchemy import select

from ..extensions import db
from ..models import Server, User
from ..models.enums import ServerStatus
from . import catalogue


def servers_of(user: User) -> list[Server]:
    """Servers sold to this customer, in id order."""
    if not user.username:
        return []
    return list(db.session.scalars(select(Server).where(Server.username == user.username, Server.busy.is_(True))
                                   .order_by(Server.id)))


def owned_server(user: User, server_id: int) -> Server | None:
    """The server if this customer owns it; None for unknown and foreign ids alike (no leak)."""
    if not user.username:
        return None
    return db.session.scalar(select(Server).where(Server.id == server_id, Server.username == user.username,
                                                  Server.busy.is_(True)))


def services_view(user: User) -> list[dict]:
    """The /user_services list: legacy keys plus the spellings and fields the site reads."""
    return [service_view(server, user) for server in servers_of(user)]


def service_view(server: Server, owner: User) -> dict:
    ips = list(server.ips or [])
    return {
        "id": server.id,
        "status": ServerStatus.ON.value if server.status == ServerStatus.ON else ServerStatus.OFF.value,
        "os": server.os or "",
        "cores": server.cores,
        "ram": server.ram,
        "hdd": server.hdd,
        "ssd": server.hdd,
        "ips": ips,
        "ip": ips[0] if ips else "",
        "country": server.country or catalogue.default_country() or "",
        # Servers sold by the old system have no rental dates of their own; the owner's row had them.
        "date_start": _legacy_date(server.rented_at) or owner.date_start or "",
        "date_stop": _legacy_date(server.paid_until) or owner.date_stop or "",
    }


def _legacy_date(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).strftime("%d.%m.%Y") if moment else None
