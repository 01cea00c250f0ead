"""A customer's servers as the legacy "my services" page reads them."""
from datetime import datetime, timezone

from sqlalchemy import Row, select

from oxnack_admin.extensions import autocommit, db
from oxnack_admin.models import Server
from oxnack_admin.models.enums import LifecycleState, ServerStatus
from oxnack_admin.services.orders import catalogue
from oxnack_admin.services.accounts.sessions import Customer

# Read on every "my services" page: plain SQL on the autocommit pool, like the session lookup.
_SERVICES_OF = (
    "SELECT id, status, lifecycle_state, os, cores, ram, hdd, ips, country, rented_at, paid_until FROM servers"
    " WHERE username = %(username)s AND busy IS TRUE ORDER BY id"
)


def servers_of(customer: Customer) -> list[Row]:
    """Servers sold to this customer, in id order, with the columns service_view() reads."""
    if not customer.username:
        return []
    with autocommit.connect() as connection:
        return list(connection.exec_driver_sql(_SERVICES_OF, {"username": customer.username}))


def owned_server(customer: Customer, server_id: int) -> Server | None:
    """The server if this customer owns it; None for unknown and foreign ids alike (no leak)."""
    if not customer.username:
        return None
    return db.session.scalar(select(Server).where(Server.id == server_id, Server.username == customer.username,
                                                  Server.busy.is_(True)))


def services_view(customer: Customer) -> list[dict]:
    """The /user_services list: legacy keys plus the spellings and fields the site reads."""
    return [service_view(server, customer) for server in servers_of(customer)]


def service_view(server: Server | Row, owner: Customer) -> dict:
    ips = [ip.strip() for ip in server.ips or [] if ip and ip.strip()]  # legacy arrays: NULLs, spaces
    return {
        "id": server.id,
        "status": _status(server),
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


def _status(server: Server | Row) -> str:
    """"suspended" while the rental is unpaid (the VM is stopped), else the power state."""
    if server.lifecycle_state == LifecycleState.SUSPENDED:
        return LifecycleState.SUSPENDED.value
    return ServerStatus.ON.value if server.status == ServerStatus.ON else ServerStatus.OFF.value


def _legacy_date(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).strftime("%d.%m.%Y") if moment else None
