"""A customer's servers as the legacy "my services" page reads them."""
import re
from collections import namedtuple
from datetime import date, datetime, timezone

from sqlalchemy import select

from oxnack_admin.extensions import autocommit, db
from oxnack_admin.models import Server
from oxnack_admin.models.enums import LifecycleState, ServerStatus
from oxnack_admin.services.orders import catalogue
from oxnack_admin.services.accounts import sessions
from oxnack_admin.services.accounts.sessions import Customer

# Read on every "my services" page: prepared plain SQL on the autocommit pool, like the session
# lookup; with the session lookup in the same statement when the page asks for both.
SERVICE_COLUMNS = ("id", "status", "lifecycle_state", "os", "cores", "ram", "hdd", "ips", "country", "rented_at", "paid_until")
ServiceRow = namedtuple("ServiceRow", SERVICE_COLUMNS)
_SERVICES_OF = (f"SELECT {', '.join(SERVICE_COLUMNS)} FROM servers WHERE username = $1 AND busy IS TRUE"
                " ORDER BY id")
_SESSION_WITH_SERVICES = (
    f"SELECT {sessions.SESSION_COLUMNS}, {', '.join(f'servers.{column}' for column in SERVICE_COLUMNS)}"
    f" FROM {sessions.SESSION_FROM}"
    " LEFT JOIN servers ON servers.username = users.username AND servers.busy IS TRUE"
    f" WHERE {sessions.SESSION_WHERE} ORDER BY servers.id"
)


def servers_of(customer: Customer) -> list[ServiceRow]:
    """Servers sold to this customer, in id order, with the columns service_view() reads."""
    if not customer.username:
        return []
    return [ServiceRow(*row) for row in autocommit.fetch("oxnack_services_of", _SERVICES_OF, (customer.username,))]


def signed_in_services(token: str | None, *, adopt_legacy: bool = True) -> tuple[Customer | None, list[ServiceRow]]:
    """The customer of a session cookie token and their servers, in one round trip.

    With adopt_legacy=False a token that opens no session is simply nobody (no write).
    """
    if not sessions.plausible_token(token):
        return None, []
    rows = autocommit.fetch("oxnack_session_services", _SESSION_WITH_SERVICES, (sessions.hash_token(token),))
    if not rows:
        if not adopt_legacy:
            return None, []
        customer = sessions.adopt_legacy_cookie(token)
        return customer, servers_of(customer) if customer else []
    width = sessions.SESSION_COLUMN_COUNT
    return sessions.customer_from(rows[0]), [ServiceRow(*row[width:]) for row in rows if row[width] is not None]


def owned_server(customer: Customer, server_id: int) -> Server | None:
    """The server if this customer owns it; None for unknown and foreign ids alike (no leak)."""
    if not customer.username:
        return None
    return db.session.scalar(select(Server).where(Server.id == server_id, Server.username == customer.username,
                                                  Server.busy.is_(True)))


def services_view(customer: Customer, servers: list[ServiceRow] | None = None) -> list[dict]:
    """The /user_services list: legacy keys plus the spellings and fields the site reads."""
    servers = servers_of(customer) if servers is None else servers
    return [service_view(server, customer) for server in servers]


def service_view(server: Server | ServiceRow, owner: Customer) -> dict:
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
        # ISO 8601 dates: the site does `new Date(value)`, which rejects or misreads dd.mm.yyyy.
        # Servers sold by the old system have no rental dates of their own; the owner's row had them.
        "date_start": _iso_day(server.rented_at) or iso_date(owner.date_start),
        "date_stop": _iso_day(server.paid_until) or iso_date(owner.date_stop),
    }


def _status(server: Server | ServiceRow) -> str:
    """"suspended" while the rental is unpaid (the VM is stopped), "reinstalling" until a reinstall is done,
    else the power state."""
    if server.lifecycle_state in (LifecycleState.SUSPENDED, LifecycleState.REINSTALLING):
        return LifecycleState(server.lifecycle_state).value
    return ServerStatus.ON.value if server.status == ServerStatus.ON else ServerStatus.OFF.value


_LEGACY_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def iso_date(legacy: str | None) -> str | None:
    """A legacy `dd.mm.yyyy` text (or one already ISO) as "yyyy-mm-dd"; None when missing or unreadable."""
    text = (legacy or "").strip()
    day = month = year = None
    if match := _LEGACY_DATE.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
    elif match := _ISO_DATE.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    if year is None:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:  # 31.02.2025 and the like
        return None


def _iso_day(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).date().isoformat() if moment else None
