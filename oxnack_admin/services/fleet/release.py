"""Giving a VM back to the pool: forget its owner, remove its pfSense objects (the wipe calls both)."""
import logging

from oxnack_admin.models import Server
from oxnack_admin.services.fleet import hypervisor
from oxnack_admin.services.fleet.network_lock import pfsense_changes

log = logging.getLogger(__name__)


def network_descr(server_id: int) -> str:
    """The description our NAT and firewall objects carry: how they are found again, even without ids."""
    return f"oxnack vm {server_id}"


def return_to_pool(server: Server) -> None:
    """Forget the owner and everything made for them, so the VM can be sold again (caller commits).

    Only a wiped VM (services/lifecycle/termination.py) or one no customer ever used may come here.
    `renewals` stays: it numbers the renewals' ledger keys for the VMID's whole life.
    """
    for column in ("username", "passwd", "name", "discription", "mac", "network_refs", "attention",
                   "rented_at", "paid_until", "lifecycle_state", "reminded_days", "suspended_at", "suspend_reason",
                   "renewed_at"):
        setattr(server, column, None)
    server.busy, server.auto_renew = False, True


def remove_network(server: Server) -> None:
    """Delete the DHCP mapping, 1:1 NAT and WAN rule by identity (pfSense ids shift on delete)."""
    refs = server.network_refs or {}
    mapping = refs.get("dhcp_static_mapping") or {}
    mac = mapping.get("mac") or server.mac
    descr = network_descr(server.id)
    if not refs and not mac:
        return  # never reached the firewall
    pfsense = hypervisor.pfsense_client()
    with pfsense_changes():  # each delete looks its id up first; no other change may shift ids meanwhile
        if mac:
            pfsense.delete_static_mapping(mac=mac)
        pfsense.delete_one_to_one_nat(descr=(refs.get("one_to_one_nat") or {}).get("descr", descr))
        pfsense.delete_rule(descr=(refs.get("wan_pass_rule") or {}).get("descr", descr))
        pfsense.apply_dhcp()
        pfsense.apply_firewall()
    log.info("pfsense entries of server %s removed", server.id)
