"""A pool VM's life after a sale: released back to the pool by staff, always through a wipe."""
import logging

from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import ProvisioningRun, Server
from oxnack_admin.models.enums import RunState
from oxnack_admin.services.staff import audit
from oxnack_admin.services.fleet import hypervisor, vm_locks
from oxnack_admin.services.fleet.network_lock import pfsense_changes

log = logging.getLogger(__name__)


class ReleaseRefused(Exception):
    """The server cannot be released now; the message says why (for the console)."""


class ReleaseFailed(Exception):
    """Proxmox or pfSense failed during the release; nothing changed in the database, try again."""


def network_descr(server_id: int) -> str:
    """The description our NAT and firewall objects carry: how they are found again, even without ids."""
    return f"oxnack vm {server_id}"


def return_to_pool(server: Server) -> None:
    """Forget the owner and everything made for them, so the VM can be sold again (caller commits).

    Only a wiped VM (services/lifecycle/termination.py) or one no customer ever used may come here.
    """
    for column in ("username", "passwd", "name", "discription", "mac", "network_refs", "attention",
                   "rented_at", "paid_until", "lifecycle_state", "reminded_days", "suspended_at"):
        setattr(server, column, None)
    server.busy, server.auto_renew = False, True


def release_server(server_id: int, actor):
    """Take the server from its owner and queue its wipe, which returns it to the pool; the caller commits.

    Refused while a provisioning run is unfinished, another operation holds the VM or a wipe
    is under way. Returns the ServerWipe.
    """
    from oxnack_admin.services.lifecycle.termination import WipeRefused, open_wipe, start_wipe
    from oxnack_admin.models.enums import WipeReason

    server = db.session.execute(select(Server).where(Server.id == server_id).with_for_update()).scalar_one_or_none()
    if server is None:
        raise ReleaseRefused(f"no server {server_id}")
    unfinished = db.session.scalar(select(ProvisioningRun.id).where(
        ProvisioningRun.server_id == server_id, ProvisioningRun.state.in_([RunState.PENDING, RunState.RUNNING])))
    if unfinished:
        raise ReleaseRefused(f"server {server_id} is still being provisioned (run {unfinished})")
    held_by = vm_locks.holder(server_id)
    if held_by:
        raise ReleaseRefused(f"another operation is running on server {server_id} ({held_by})")
    pending = open_wipe(server)
    if pending is not None:
        raise ReleaseRefused(f"server {server_id} is being wiped already (wipe {pending.id}, {pending.state}); "
                             "retry that wipe instead")
    before = {"username": server.username, "busy": server.busy, "attention": server.attention,
              "network_refs": server.network_refs}
    try:
        wipe = start_wipe(server, WipeReason.RELEASE, staff=actor)
    except WipeRefused as exc:
        raise ReleaseRefused(str(exc)) from None
    audit.record(actor, "server.release", "server", server_id, before=before,
                 after={"wipe_id": wipe.id, "username": None})
    return wipe


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
