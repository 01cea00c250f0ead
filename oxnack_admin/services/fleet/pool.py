"""The VM pool as staff manage it: list, add (one VM or a VMID range), edit, provisioning records."""
import ipaddress
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import any_, func, or_, select, union
from sqlalchemy.exc import IntegrityError

from oxnack_admin.extensions import db
from oxnack_admin.models import ProvisioningRun, Server, User
from oxnack_admin.models.enums import LifecycleState, RunState
from oxnack_admin.services.staff import audit
from oxnack_admin.services.paging import ListParams, Page, like_escape, paginate

MAX_BULK = 100  # one form post adds at most this many VMs
_latest_run_state = (select(ProvisioningRun.state).where(ProvisioningRun.server_id == Server.id)
                     .order_by(ProvisioningRun.id.desc()).limit(1).correlate(Server).scalar_subquery())
SORTS = {"id": Server.id, "os": (Server.os, Server.id), "status": (Server.status, Server.id),
         "owner": (Server.username, Server.id), "node": (Server.node, Server.id)}
FILTERS = ("state", "os")
STATES = {
    "pool": (or_(Server.busy.is_(False), Server.busy.is_(None)), Server.attention.is_(None)),
    "sold": (Server.busy.is_(True),),
    "attention": (Server.attention.is_not(None),),
    "failed": (_latest_run_state == RunState.FAILED,),
    "provisioning": (_latest_run_state.in_([RunState.PENDING, RunState.RUNNING]),),
    "suspended": (Server.lifecycle_state == LifecycleState.SUSPENDED,),
    "wiping": (Server.lifecycle_state == LifecycleState.WIPING,),
}
SNAPSHOT = ("os", "ips", "lan_ip", "node", "country", "cores", "ram", "hdd", "mac", "name", "attention", "busy",
            "username", "status")


class PoolError(ValueError):
    """The pool change cannot be made as asked; `field` names the form field at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PoolVm:
    """What staff give for a pool VM; sizes default to the smallest order (pool VMs are grown on order)."""

    vmid: int
    os: str
    ips: list[str]
    lan_ip: str | None = None
    node: str | None = None
    country: str | None = None
    mac: str | None = None


def search(params: ListParams) -> Page:
    """Rows of (Server, owner's user id, owner's mail, latest provisioning state)."""
    statement = (select(Server, User.id, User.mail, _latest_run_state.label("run_state"))
                 .outerjoin(User, (User.username == Server.username) & Server.busy.is_(True)))
    state = params.filters.get("state")
    if state in STATES:
        statement = statement.where(*STATES[state])
    if params.filters.get("os"):
        statement = statement.where(Server.os == params.filters["os"])
    if not params.q:
        return paginate(statement, params, SORTS, scalars=False)
    ids = _matching_ids(params.q)
    # The matches gathered first into one array: PostgreSQL then reads just those servers, in id
    # order. With `IN (...)` it expects them spread evenly and walks the primary key or hash-joins
    # every server; that form stays for the planner's estimate of a large result ("about N").
    matching = statement.where(Server.id == any_(func.array(ids.scalar_subquery())))
    return paginate(matching, params, SORTS, scalars=False, estimate=statement.where(Server.id.in_(ids)))


def _matching_ids(q: str):
    """Ids of servers whose addresses, owner's username or owner's mail contain q (or whose id is q).

    A union of lookups on one table each (trigram indexes where there is one): one OR across the
    joined owner would hash-join every server with every customer first.
    """
    pattern = f"%{like_escape(q)}%"
    owned_by_mail = (select(Server.id).join(User, (User.username == Server.username) & Server.busy.is_(True))
                     .where(User.mail.ilike(pattern, escape="\\")))
    branches = [select(Server.id).where(func.servers_ips_text(Server.ips).ilike(pattern, escape="\\")),
                select(Server.id).where(Server.username.ilike(pattern, escape="\\")),
                select(Server.id).where(Server.lan_ip.ilike(pattern, escape="\\")), owned_by_mail]
    if q.isdigit() and len(q) < 10:
        branches.append(select(Server.id).where(Server.id == int(q)))
    return union(*branches)


def os_choices() -> list[str]:
    return list(current_app.config["OS_TEMPLATES"])


def parse_ips(text: str) -> list[str]:
    """Public IPv4 addresses separated by commas, spaces or lines."""
    ips = [part for part in text.replace(",", " ").split() if part]
    for ip in ips:
        _ipv4(ip, "ips")
    return ips


def add_vm(vm: PoolVm, staff) -> Server:
    """Add one free VM to the pool (it must already exist in Proxmox with this VMID)."""
    _check_new(vm)
    server = _server(vm)
    db.session.add(server)
    _flush_addresses("ips", "lan_ip")
    audit.record(staff, "server.add", "server", vm.vmid, after=snapshot(server))
    return server


def add_range(first_vmid: int, last_vmid: int, os_name: str, first_ip: str, first_lan_ip: str | None,
              node: str | None, country: str | None, staff) -> list[Server]:
    """Add VMIDs first..last, giving each the next public (and LAN) address after the previous one."""
    if last_vmid < first_vmid:
        raise PoolError("The last VMID comes before the first.", "last_vmid")
    count = last_vmid - first_vmid + 1
    if count > MAX_BULK:
        raise PoolError(f"At most {MAX_BULK} VMs at once.", "last_vmid")
    public = _address_series(first_ip, count, "first_ip")
    lan = _address_series(first_lan_ip, count, "first_lan_ip") if first_lan_ip else [None] * count
    vms = [PoolVm(first_vmid + i, os_name, [public[i]], lan[i], node, country) for i in range(count)]
    taken = set(db.session.scalars(select(Server.id).where(Server.id.between(first_vmid, last_vmid))))
    if taken:
        raise PoolError(f"VMIDs already in the pool: {', '.join(map(str, sorted(taken)))}.", "first_vmid")
    _check_ips_free(public, "first_ip")
    _check_lan_free([address for address in lan if address], "first_lan_ip")
    for vm in vms:
        _check_os(vm.os)
    servers = [_server(vm) for vm in vms]
    db.session.add_all(servers)
    _flush_addresses("first_ip", "first_lan_ip")
    audit.record(staff, "server.add_range", "server", f"{first_vmid}-{last_vmid}",
                 after={"count": count, "os": os_name, "ips": f"{public[0]}–{public[-1]}", "node": node})
    return servers


def edit(server: Server, changes: dict, staff) -> Server:
    """Change the pool record (addresses, node, country, name, attention note; OS only while free)."""
    before = snapshot(server)
    if "os" in changes and changes["os"] != server.os:
        if server.busy:
            raise PoolError("The OS of a sold server cannot change.", "os")
        _check_os(changes["os"])
    if "ips" in changes and changes["ips"] != (server.ips or []):
        _check_ips_free(changes["ips"], "ips", exclude=server.id)
    if changes.get("lan_ip") and changes["lan_ip"] != server.lan_ip:
        _ipv4(changes["lan_ip"], "lan_ip")
        _check_lan_free([changes["lan_ip"]], "lan_ip", exclude=server.id)
    for column, value in changes.items():
        setattr(server, column, value)
    _flush_addresses("ips", "lan_ip")
    audit.record(staff, "server.edit", "server", server.id, before=before, after=snapshot(server))
    return server


def runs_of(server: Server) -> list[ProvisioningRun]:
    return list(db.session.scalars(select(ProvisioningRun).where(ProvisioningRun.server_id == server.id)
                                   .order_by(ProvisioningRun.id.desc())))


def owner_of(server: Server) -> User | None:
    if not server.busy or not server.username:
        return None
    return db.session.scalar(select(User).where(User.username == server.username))


def snapshot(server: Server) -> dict:
    return {column: getattr(server, column) for column in SNAPSHOT}


def _server(vm: PoolVm) -> Server:
    config = current_app.config
    return Server(id=vm.vmid, os=vm.os, ips=vm.ips, lan_ip=vm.lan_ip, node=vm.node or None,
                  country=vm.country or (config["COUNTRIES"][0] if config["COUNTRIES"] else None), mac=vm.mac or None,
                  cores=config["MIN_CORE"], ram=config["MIN_RAM"], hdd=config["MIN_HDD"], status="off", busy=False)


def _check_new(vm: PoolVm) -> None:
    if not 100 <= vm.vmid <= 999_999_999:
        raise PoolError("Proxmox VMIDs run from 100 to 999999999.", "vmid")
    if db.session.get(Server, vm.vmid) is not None:
        raise PoolError(f"VMID {vm.vmid} is already in the pool.", "vmid")
    _check_os(vm.os)
    if not vm.ips:
        raise PoolError("Give at least one public IPv4 address.", "ips")
    if vm.lan_ip:
        _ipv4(vm.lan_ip, "lan_ip")
        _check_lan_free([vm.lan_ip], "lan_ip")
    _check_ips_free(vm.ips, "ips")


def _check_os(os_name: str) -> None:
    if os_name not in current_app.config["OS_TEMPLATES"]:
        raise PoolError(f"Unknown OS {os_name!r}; configured: {', '.join(os_choices())}.", "os")


def _check_ips_free(ips: list[str], field: str, exclude: int | None = None) -> None:
    """A public address belongs to one VM only."""
    clash = select(Server.id, func.unnest(Server.ips).label("ip"))
    if exclude is not None:
        clash = clash.where(Server.id != exclude)
    clash = clash.subquery()
    used = db.session.execute(select(clash.c.id, clash.c.ip).where(clash.c.ip.in_(ips))).first()
    if used is not None:
        raise PoolError(f"{used.ip} is already assigned to VM {used.id}.", field)


def _check_lan_free(addresses: list[str], field: str, exclude: int | None = None) -> None:
    """A LAN address belongs to one VM only."""
    clash = select(Server.id, Server.lan_ip).where(func.btrim(Server.lan_ip).in_([a.strip() for a in addresses]))
    if exclude is not None:
        clash = clash.where(Server.id != exclude)
    used = db.session.execute(clash.limit(1)).first()
    if used is not None:
        raise PoolError(f"LAN address {used.lan_ip} is already assigned to VM {used.id}.", field)


def _flush_addresses(public_field: str, lan_field: str) -> None:
    """Flush in a savepoint: an address another VM claimed meanwhile (the database's constraint) is a form error."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:
        detail = str(getattr(error.orig, "diag", None) and error.orig.diag.message_detail or error.orig)
        if "server_addresses" not in str(error.orig) and "(kind, address)" not in detail:
            raise
        lan = "(lan," in detail
        raise PoolError(f"{'LAN' if lan else 'A public'} address is already assigned to another VM ({detail}).",
                        lan_field if lan else public_field) from None


def _ipv4(text: str, field: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text.strip())
    except ValueError:
        raise PoolError(f"{text!r} is not an IPv4 address.", field) from None


def _address_series(first: str, count: int, field: str) -> list[str]:
    start = _ipv4(first, field)
    if int(start) + count - 1 > int(ipaddress.IPv4Address("255.255.255.255")):
        raise PoolError("The address range runs past 255.255.255.255.", field)
    return [str(start + i) for i in range(count)]


def time_taken(started: datetime | None, finished: datetime | None) -> str | None:
    """"12s", "3m 4s": how long a step took, for the provisioning record."""
    if started is None or finished is None:
        return None
    seconds = int((finished - started).total_seconds())
    return f"{seconds // 60}m {seconds % 60}s" if seconds >= 60 else f"{seconds}s"


STEP_LABELS = {"stop_vm": "Stop VM", "destroy_vm": "Destroy the old disk", "clone_template": "Clone the OS template",
               "configure_vm": "Configure VM", "resize_disk": "Grow disk", "network": "Network (pfSense)",
               "start_vm": "Start VM", "notify_owner": "E-mail the owner"}
STATE_ICONS = {RunState.PENDING: "○", RunState.RUNNING: "◔", RunState.DONE: "✓", RunState.FAILED: "✗"}


@dataclass(frozen=True)
class StepView:
    name: str
    label: str
    state: str
    icon: str
    attempts: int
    error: str | None
    took: str | None


@dataclass(frozen=True)
class RunView:
    """A provisioning run as the console shows it; `poll` while it can still change."""

    run: ProvisioningRun
    steps: list[StepView]
    poll: bool
    can_retry: bool
    done_count: int


def run_view(run: ProvisioningRun) -> RunView:
    steps = [StepView(step.name, STEP_LABELS.get(step.name, step.name), step.state,
                      STATE_ICONS.get(step.state, "?"), step.attempts or 0, step.error,
                      time_taken(step.started_at, step.finished_at)) for step in run.steps]
    return RunView(run, steps, poll=not run.is_final, can_retry=run.state == RunState.FAILED,
                   done_count=sum(1 for s in steps if s.state == RunState.DONE))
