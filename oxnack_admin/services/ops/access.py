"""Who may read /status and /metrics: clients in an allowed network (loopback by default), or a staff token."""
import ipaddress
from collections.abc import Iterable

from oxnack_admin.models.enums import StaffRole
from oxnack_admin.services.staff import api_tokens


def in_networks(address: str | None, networks: Iterable[str]) -> bool:
    """Is `address` inside one of `networks` (CIDR strings)? An unparsable address is not."""
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(network, strict=False) for network in networks)


def admin_token(authorization: str | None) -> bool:
    """A valid staff API token of an admin or owner."""
    holder = api_tokens.holder_of(api_tokens.bearer_token(authorization))
    return holder is not None and holder.has_role(StaffRole.ADMIN)
