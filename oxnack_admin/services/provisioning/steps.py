"""The five provisioning steps. Each is safe to run again after a partial success.

A step reads `ctx.facts`, may change the run's server row `ctx.server` (committed with the
step's `done`) and returns the JSON-able `result` kept on the step. Secrets never go into a result.
"""
import math
import secrets
import string
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from oxnack_admin.clients.errors import PermanentRemoteError, TransientRemoteError
from oxnack_admin.clients.pfsense import PfSenseClient
from oxnack_admin.clients.proxmox import ProxmoxClient
from oxnack_admin.extensions import db
from oxnack_admin.models import ProvisioningRun, Server, User
from oxnack_admin.models.enums import NoticeChannel, ProvisioningStepName, RunKind, ServerStatus
from oxnack_admin.services import sealed
from oxnack_admin.services.fleet import hypervisor
from oxnack_admin.services.fleet.network_lock import pfsense_changes
from oxnack_admin.services import notices
from oxnack_admin.services.fleet.release import network_descr
from oxnack_admin.services.lifecycle import termination

PASSWORD_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "lIO0")
PASSWORD_LENGTH = 16


class ProvisioningDataError(Exception):
    """Our own data cannot make this VM (no LAN IP, no public IP...); retrying will not help."""

    retryable = False


@dataclass(frozen=True)
class Facts:
    """Plain values a step reads, taken before it starts: no database transaction stays open
    (holding locks that block migrations and vacuum) while a step waits on a remote system."""

    run_id: int
    vmid: int
    node: str | None
    cores: int
    ram: int
    hdd: int
    os: str
    username: str | None
    mail: str | None
    mac: str | None
    name: str | None
    lan_ip: str | None
    wan_ip: str | None
    passwd: str | None
    network_refs: dict | None
    kind: str = RunKind.ORDER

    @classmethod
    def of(cls, run: ProvisioningRun, server: Server, user: User) -> "Facts":
        return cls(run.id, server.id, server.node, run.cores, run.ram, run.hdd, run.os, user.username, user.mail,
                   server.mac, server.name, server.lan_ip, server.first_ip, server.passwd,
                   dict(server.network_refs) if server.network_refs else None, run.kind or RunKind.ORDER)


@dataclass
class StepContext:
    """What a step works on: `facts` to read, the `server` row to write; clients built on first use."""

    facts: Facts
    server: Server
    _proxmox: ProxmoxClient | None = field(default=None, repr=False)
    _pfsense: PfSenseClient | None = field(default=None, repr=False)

    @property
    def proxmox(self) -> ProxmoxClient:
        if self._proxmox is None:
            self._proxmox = hypervisor.proxmox_client(self.facts.node)
        return self._proxmox

    @property
    def pfsense(self) -> PfSenseClient:
        if self._pfsense is None:
            self._pfsense = hypervisor.pfsense_client()
        return self._pfsense


def new_root_password() -> str:
    """A fresh root password with upper, lower and digits, no look-alike characters."""
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
        if any(c.isupper() for c in password) and any(c.islower() for c in password) \
                and any(c.isdigit() for c in password):
            return password


def new_mac() -> str:
    """A locally administered MAC in the KVM range the legacy site used (52:54:00:xx:xx:xx)."""
    return "52:54:00:" + ":".join(f"{secrets.randbelow(256):02x}" for _ in range(3))


def stop_vm(ctx: StepContext) -> dict:
    """A reinstall starts as the wipe does: the VM stopped (PVE destroys no running VM)."""
    termination.stop_vm(ctx.server)
    return {"status": "stopped"}


def destroy_vm(ctx: StepContext) -> dict:
    """The owner's disk goes with the VM; the row, its MAC, addresses and pfSense objects stay."""
    termination.destroy_vm(ctx.server)
    return {"destroyed": ctx.facts.vmid}


def clone_template(ctx: StepContext) -> dict:
    """A full clone of the chosen OS's template under the same VMID; the next steps size it as ordered."""
    ctx.server.os = ctx.facts.os
    termination.clone_template(ctx.server, name=f"{ctx.facts.vmid}-{ctx.facts.username or 'reinstall'}")
    return {"os": ctx.facts.os}


def configure_vm(ctx: StepContext) -> dict:
    """Cores, memory, name, net0 with the order's MAC, cloud-init root with a new password."""
    facts, proxmox = ctx.facts, ctx.proxmox
    if not facts.username:
        raise ProvisioningDataError(f"the owner of VM {facts.vmid} has no username to name it after")
    if proxmox.current_status(facts.vmid) != "stopped":
        # cloud-init applies the new password at boot, and the customer must not get a VM
        # that was running with someone else's settings.
        proxmox.stop(facts.vmid)
    mac = facts.mac or new_mac()
    name = f"{facts.vmid}-{facts.username}"
    bridge = current_app.config["PROXMOX_BRIDGE"]
    # A new password on every attempt: only the one Proxmox accepted last is saved below.
    password = new_root_password()
    proxmox.update_config(facts.vmid, cores=facts.cores, memory=facts.ram * 1024, name=name,
                          net0=f"virtio={mac},bridge={bridge}", ciuser="root", cipassword=password,
                          ipconfig0="ip=dhcp")
    server = ctx.server
    # Kept only until the owner's mail is queued, and sealed meanwhile: never plaintext in the database.
    server.mac, server.name, server.passwd = mac, name, sealed.seal(password)
    server.cores, server.ram, server.hdd = facts.cores, facts.ram, facts.hdd
    return {"name": name, "mac": mac, "cores": facts.cores, "memory_mb": facts.ram * 1024, "bridge": bridge}


def resize_disk(ctx: StepContext) -> dict:
    """Grow the system disk to the ordered size (pool VMs have MIN_HDD); never shrink."""
    facts, proxmox = ctx.facts, ctx.proxmox
    if facts.hdd - current_app.config["MIN_HDD"] <= 0:
        return {"grown_by_gb": 0, "skipped": "the order has the pool disk size"}
    config = proxmox.get_config(facts.vmid)
    disk = proxmox.find_disk_key(config)
    size = proxmox.disk_size_gb(config, disk)
    if size <= 0:
        raise PermanentRemoteError(f"Proxmox does not say how big {disk} of VM {facts.vmid} is")
    # Growing to a target, not by a delta: a retry after a resize that did land grows nothing.
    grow = max(0, math.ceil(facts.hdd - size))
    proxmox.resize_disk(facts.vmid, disk, grow)
    return {"disk": disk, "from_gb": size, "grown_by_gb": grow, "size_gb": size + grow}


def configure_network(ctx: StepContext) -> dict:
    """DHCP static mapping, 1:1 NAT and a WAN pass rule on pfSense, then apply.

    Each object is looked up before it is created (by MAC or description) and remembered on the
    server at once, so a retry never duplicates one and a release can remove what exists.
    """
    facts, pfsense = ctx.facts, ctx.pfsense
    lan_ip, wan_ip, mac = facts.lan_ip, facts.wan_ip, facts.mac
    if not lan_ip or not wan_ip or not mac:
        raise ProvisioningDataError(f"server {facts.vmid} needs a LAN IP, a public IP and a MAC "
                                    f"(has {lan_ip!r}, {wan_ip!r}, {mac!r})")
    descr = network_descr(facts.vmid)
    refs = dict(facts.network_refs or {})
    with pfsense_changes():  # a concurrent release's deletes must not shift ids between create and apply
        return _create_network_objects(ctx, pfsense, facts, descr, refs, lan_ip, wan_ip, mac)


def _create_network_objects(ctx: StepContext, pfsense, facts: Facts, descr: str, refs: dict, lan_ip: str,
                            wan_ip: str, mac: str) -> dict:
    found = pfsense.find_static_mapping_by_mac(mac)
    mapping_id = found["id"] if found else pfsense.add_static_mapping(mac, lan_ip, facts.name or f"vm{facts.vmid}",
                                                                      descr)
    refs = _remember(ctx.server, refs, "dhcp_static_mapping", {"id": mapping_id, "mac": mac, "ipaddr": lan_ip})

    found = pfsense.find_nat_by_descr(descr)
    nat_id = found["id"] if found else pfsense.add_one_to_one_nat(wan_ip, lan_ip, descr)
    refs = _remember(ctx.server, refs, "one_to_one_nat", {"id": nat_id, "descr": descr, "external": wan_ip,
                                                          "source": lan_ip})

    # pfSense filters after inbound NAT, so a rule for a 1:1 NAT target names the private address.
    found = pfsense.find_rule_by_descr(descr)
    rule_id = found["id"] if found else pfsense.add_wan_pass_rule(lan_ip, descr)
    refs = _remember(ctx.server, refs, "wan_pass_rule", {"id": rule_id, "descr": descr, "destination": lan_ip})

    pfsense.apply_dhcp()
    pfsense.apply_firewall()
    return refs


def _remember(server: Server, refs: dict, key: str, value: dict) -> dict:
    refs = {**refs, key: value}
    server.network_refs = refs
    db.session.commit()  # at once: a failure later in this step must not forget what exists
    return refs


def start_vm(ctx: StepContext) -> dict:
    """Start the VM and believe it only when Proxmox reports it running."""
    vmid, proxmox = ctx.facts.vmid, ctx.proxmox
    proxmox.start(vmid)
    status = proxmox.current_status(vmid)
    if status != "running":
        raise TransientRemoteError(f"VM {vmid} reports {status!r} after its start task")
    ctx.server.status = ServerStatus.ON
    return {"status": status}


def notify_owner(ctx: StepContext) -> dict:
    """Queue the 'server ready' notice (mail, and Telegram per the owner's choice); it commits with this step,
    so it is queued exactly once. The root password goes over Telegram only to an owner without mail."""
    facts = ctx.facts
    owner = db.session.scalar(select(User).where(User.username == facts.username)) if facts.username else None
    channel = notices.channel_of(owner) if owner is not None else None
    if not facts.mail and channel != NoticeChannel.TELEGRAM:
        ctx.server.passwd = None
        return {"skipped": "the owner has no e-mail address and no Telegram"}
    password = sealed.unseal(facts.passwd)
    if password is None:
        raise ProvisioningDataError(f"the root password of VM {facts.vmid} cannot be unsealed "
                                    "(SECRET_KEY changed since it was set?)")
    template = "server_reinstalled" if facts.kind == RunKind.REINSTALL else "server_ready"
    notices.notify(owner, template, password=password, server_id=facts.vmid, cores=facts.cores,
                   ram=facts.ram, hdd=facts.hdd, os=facts.os, ip=facts.wan_ip)
    # The mail or the Telegram message holds it now (until delivered); the server row forgets it.
    ctx.server.passwd = None
    return {"to": facts.mail, "channel": channel}


STEPS = {
    ProvisioningStepName.STOP_VM: stop_vm,
    ProvisioningStepName.DESTROY_VM: destroy_vm,
    ProvisioningStepName.CLONE_TEMPLATE: clone_template,
    ProvisioningStepName.CONFIGURE_VM: configure_vm,
    ProvisioningStepName.RESIZE_DISK: resize_disk,
    ProvisioningStepName.NETWORK: configure_network,
    ProvisioningStepName.START_VM: start_vm,
    ProvisioningStepName.NOTIFY_OWNER: notify_owner,
}
