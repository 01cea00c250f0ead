"""A Proxmox VE stand-in: /api2/json with ticket and token auth, VM configs, tasks and locks.

Simplification: real PVE only writes `lock` for backups, clones, migrations and snapshots;
here every task holds a lock named after its type until it finishes (a clone holds `clone`,
as on PVE), so clients that forget to wait are caught.

Each VM's disk content is modelled as a dict of files (`write_file`, `files`): a clone copies
its template's files, a destroy deletes them, so tests can prove a wipe leaves nothing behind.
"""
import copy
import hashlib
import itertools
import re
import secrets
import time
from dataclasses import dataclass, field

from oxnack_admin.web import websocket as ws

from . import LoopbackSimulator, Reply
from .proxmox_console import RRD_SPANS, rrd_points, serve_rfb

API_PREFIX = "/api2/json"
INTEGER_KEYS = {"cores", "sockets", "vcpus", "balloon", "cpuunits", "onboot"}
WRITE_METHODS = {"POST", "PUT", "DELETE"}
POWER_TASKS = {"start": "qmstart", "stop": "qmstop", "shutdown": "qmshutdown", "reboot": "qmreboot"}
MASKED = "**********"  # what PVE shows instead of a stored cipassword
VNC_TICKET_SECONDS = 10  # PVE: vncwebsocket must follow vncproxy this soon


@dataclass
class VmState:
    """A snapshot of one simulated VM: the stored config (secrets unmasked) and power status."""

    vmid: int
    config: dict
    status: str


@dataclass
class _Vm:
    vmid: int
    config: dict
    status: str
    sticky_lock: str | None = None
    task: str | None = None  # UPID of the task holding the VM
    files: dict = field(default_factory=dict)  # the disk's content: path -> text


@dataclass
class _Task:
    upid: str
    kind: str
    vmid: int
    user: str
    polls_needed: int
    apply: object  # callable run when the task ends OK
    started: float
    exitstatus: str = "OK"
    lock: str | None = None  # the VM lock while it runs (default: the task type)
    on_failure: object = None  # callable run when the task fails (a failed clone removes its VM)
    polls: int = 0
    done: bool = False
    fields: dict = field(default_factory=dict)


class ProxmoxSimulator(LoopbackSimulator):
    """Serve a fake PVE node; add VMs with add_vm() and steer failures with the injection API."""

    def __init__(self, node: str = "pve", user: str = "root@pam", password: str = "simulator",
                 token_name: str = "oxnack", token_secret: str = "simulator-token",
                 task_polls_before_done: int = 1, task_seconds_before_done: float | None = None,
                 resize_returns_task: bool = True, adopt_unknown_vms: bool = False,
                 host: str = "127.0.0.1", port: int = 0):
        super().__init__(host, port)
        self.node = node
        self.user = user
        self.token_name = token_name
        self.task_polls_before_done = task_polls_before_done
        # Demo mode sets this so a task whose client gave up still ends, as it would on PVE.
        self.task_seconds_before_done = task_seconds_before_done
        # PVE before 8 resized synchronously and answered null; False imitates that.
        self.resize_returns_task = resize_returns_task
        # Demo mode: a VMID staff add to the pool later "exists" as a fresh template clone.
        self.adopt_unknown_vms = adopt_unknown_vms
        self._password = password
        self._token_secret = token_secret
        self._tickets: dict[str, tuple[str, str]] = {}  # ticket -> (user, CSRF token)
        self._vms: dict[int, _Vm] = {}
        self._tasks: dict[str, _Task] = {}
        self._task_failures: dict[str, list[str]] = {}
        self._pids = itertools.count(0x2A000 + secrets.randbelow(0x1000))
        self._vnc: dict[str, tuple[int, str, float]] = {}  # port -> (vmid, ticket, issued at), used once
        self._vnc_ports = itertools.count(5900)
        self.rrd_now: float | None = None  # a fixed "now" for the usage curves (tests); None: the clock
        self.consoles_served = 0  # vncwebsocket connections upgraded (each a fresh ticket)

    @property
    def token(self) -> str:
        """The API token in the form the client takes: user@realm!tokenid=secret."""
        return f"{self.user}!{self.token_name}={self._token_secret}"

    # --- state and failure injection -------------------------------------------------------

    def add_vm(self, vmid: int, name: str | None = None, cores: int = 1, memory: int = 1024,
               disk_key: str = "scsi0", disk_gb: int = 15, status: str = "stopped") -> None:
        """Create a VM the way a cloud-init template clone looks."""
        config = {
            "name": name or f"vm-{vmid}", "cores": cores, "sockets": 1, "memory": str(memory),
            "ostype": "l26", "scsihw": "virtio-scsi-single", "boot": f"order={disk_key}",
            disk_key: f"local-lvm:vm-{vmid}-disk-0,size={disk_gb}G",
            "ide2": f"local-lvm:vm-{vmid}-cloudinit,media=cdrom",
            "net0": f"virtio=BC:24:11:{vmid % 256:02X}:{vmid // 256 % 256:02X}:01,bridge=vmbr1",
            "ciuser": "root", "ipconfig0": "ip=dhcp",
        }
        with self._lock:
            self._vms[vmid] = _Vm(vmid, config, status)

    def add_template(self, vmid: int, name: str | None = None, files: dict | None = None, **options) -> None:
        """A template VM (`template: 1`) to clone pool VMs from; `files` is its disk's content."""
        self.add_vm(vmid, name=name or f"template-{vmid}", **options)
        with self._lock:
            self._vms[vmid].config["template"] = 1
            self._vms[vmid].files = dict(files or {"/etc/os-release": f"template {vmid}"})

    def has_vm(self, vmid: int) -> bool:
        with self._lock:
            return vmid in self._vms

    def write_file(self, vmid: int, path: str, content: str) -> None:
        """Write a file on the VM's disk (what a customer leaves behind)."""
        with self._lock:
            self._vms[vmid].files[path] = content

    def files(self, vmid: int) -> dict:
        """The VM's disk content, path -> text."""
        with self._lock:
            return dict(self._vms[vmid].files)

    def vm(self, vmid: int) -> VmState:
        """The VM's stored config (cipassword as sent, lock as shown) and status."""
        with self._lock:
            vm = self._vms[vmid]
            return VmState(vmid, self._shown_config(vm, for_api=False), vm.status)

    def fail_task_next(self, kind: str, exitstatus: str = "command failed") -> None:
        """The next task of this type (qmconfig, resize, qmstart...) ends with `exitstatus`."""
        with self._lock:
            self._task_failures.setdefault(kind, []).append(exitstatus)

    def stick_lock(self, vmid: int, lock: str = "backup") -> None:
        """Leave a lock on the VM (as a running backup would) until clear_lock()."""
        with self._lock:
            self._vms[vmid].sticky_lock = lock

    def clear_lock(self, vmid: int) -> None:
        """Remove a lock set by stick_lock()."""
        with self._lock:
            self._vms[vmid].sticky_lock = None

    # --- HTTP ------------------------------------------------------------------------------

    def error_reply(self, status: int, message: str) -> Reply:
        # PVE puts the error text in the reason phrase and answers {"data": null}.
        return Reply(status, {"data": None}, " ".join(message.split())[:200])

    def loggable(self, path: str, params: dict) -> dict:
        if path.endswith("/access/ticket") and "password" in params:
            params["password"] = "***"
        return params

    def route(self, method, path, params, headers) -> Reply:
        if not path.startswith(API_PREFIX):
            return self.error_reply(404, "not found")
        path = path[len(API_PREFIX):]
        if path == "/access/ticket" and method == "POST":
            return self._login(params)
        user = self._authenticate(method, headers)
        if user is None:
            return self.error_reply(401, "authentication failure")
        with self._lock:
            return self._route_authenticated(method, path, params, user)

    def _route_authenticated(self, method, path, params, user) -> Reply:
        node = re.escape(self.node)
        if re.fullmatch(rf"/nodes/{node}/qemu", path) and method == "GET":
            return self._ok([self._summary(vm) for vm in self._vms.values()])
        match = re.fullmatch(rf"/nodes/{node}/tasks/([^/]+)/status", path)
        if match and method == "GET":
            return self._task_status(match.group(1))
        match = re.fullmatch(rf"/nodes/{node}/qemu/(\d+)/clone", path)
        if match and method == "POST":
            return self._clone(int(match.group(1)), params, user)
        match = re.fullmatch(rf"/nodes/{node}/qemu/(\d+)", path)
        if match and method == "DELETE":
            return self._destroy(int(match.group(1)), params, user)
        match = re.fullmatch(rf"/nodes/{node}/qemu/(\d+)/(rrddata|vncproxy|vncwebsocket)", path)
        if match:
            return self._console_call(int(match.group(1)), match.group(2), method, params)
        match = re.fullmatch(rf"/nodes/{node}/qemu/(\d+)/(config|resize|status/\w+)", path)
        if not match:
            return self.error_reply(501, f"Method '{method} {path}' not implemented")
        if self.adopt_unknown_vms and int(match.group(1)) not in self._vms:
            self.add_vm(int(match.group(1)))
        vm = self._vms.get(int(match.group(1)))
        if vm is None:
            return self.error_reply(500, f"Configuration file 'nodes/{self.node}/qemu-server/"
                                         f"{match.group(1)}.conf' does not exist")
        action = match.group(2)
        if method == "GET" and action == "config":
            return self._ok(self._shown_config(vm, for_api=True))
        if method == "GET" and action == "status/current":
            return self._ok({"vmid": vm.vmid, "name": vm.config.get("name"), "status": vm.status,
                             "qmpstatus": vm.status, "cpus": vm.config.get("cores", 1)})
        lock = self._current_lock(vm)
        if lock and method in WRITE_METHODS:
            return self.error_reply(500, f"VM is locked ({lock})")
        if action == "config" and method in ("POST", "PUT"):
            return self._update_config(vm, method, params, user)
        if action == "resize" and method == "PUT":
            return self._resize(vm, params, user)
        power = action.removeprefix("status/")
        if method == "POST" and power in POWER_TASKS:
            return self._power(vm, power, user)
        return self.error_reply(501, f"Method '{method} {path}' not implemented")

    # --- auth ------------------------------------------------------------------------------

    def _login(self, params) -> Reply:
        username, password = params.get("username"), params.get("password", "")
        with self._lock:
            renewing = self._tickets.get(password, (None,))[0] == username
        if username != self.user or not (
                renewing or secrets.compare_digest(password.encode(), self._password.encode())):
            return self.error_reply(401, "authentication failure")
        ticket = f"PVE:{username}:{int(time.time()):08X}::{secrets.token_hex(32)}"
        csrf = f"{int(time.time()):08X}:{secrets.token_urlsafe(32)}"
        with self._lock:
            self._tickets[ticket] = (username, csrf)
        return self._ok({"ticket": ticket, "CSRFPreventionToken": csrf, "username": username,
                         "cap": {}})

    def _authenticate(self, method, headers) -> str | None:
        """The user (or user!token) behind a request, or None; ticket writes also need the CSRF token."""
        authorization = headers.get("Authorization", "")
        if authorization.startswith("PVEAPIToken="):
            expected = f"PVEAPIToken={self.token}"
            valid = secrets.compare_digest(authorization.encode(), expected.encode())
            return f"{self.user}!{self.token_name}" if valid else None
        cookies = dict(part.strip().split("=", 1) for part in headers.get("Cookie", "").split(";")
                       if "=" in part)
        with self._lock:
            session = self._tickets.get(cookies.get("PVEAuthCookie", ""))
        if session is None:
            return None
        if method in WRITE_METHODS and headers.get("CSRFPreventionToken") != session[1]:
            return None  # real PVE: 401 "Permission denied - invalid csrf token"
        return session[0]

    # --- VM operations ---------------------------------------------------------------------

    def _update_config(self, vm: _Vm, method, params, user) -> Reply:
        if params.get("digest") and params["digest"] != self._digest(vm.config):
            return self.error_reply(500, "detected modified configuration - file changed by other user? "
                                         "Try again.")
        changes = {k: v for k, v in params.items() if k not in ("digest", "delete", "skiplock")}
        removed = [k.strip() for k in str(params.get("delete", "")).split(",") if k.strip()]

        def apply():
            for key in removed:
                vm.config.pop(key, None)
            for key, value in changes.items():
                vm.config[key] = int(value) if key in INTEGER_KEYS and str(value).isdigit() else value

        if method == "PUT":  # the synchronous variant: applied at once, no task
            apply()
            return self._ok(None)
        return self._ok(self._start_task(vm, "qmconfig", user, apply))

    def _resize(self, vm: _Vm, params, user) -> Reply:
        disk, size = params.get("disk", ""), str(params.get("size", ""))
        value = vm.config.get(disk)
        current = re.search(r"size=(\d+)G", str(value or ""))
        wanted = re.fullmatch(r"(\+?)(\d+)G?", size)
        if value is None or current is None:
            return self.error_reply(500, f"disk '{disk}' does not exist")
        if "media=cdrom" in str(value):
            return self.error_reply(500, "you can't resize a cdrom")
        if wanted is None:
            return self.error_reply(400, "Parameter verification failed.")
        new_gb = int(current.group(1)) + int(wanted.group(2)) if wanted.group(1) else int(wanted.group(2))
        if new_gb < int(current.group(1)):
            return self.error_reply(500, "shrinking disks is not supported")

        def apply():
            vm.config[disk] = re.sub(r"size=\d+G", f"size={new_gb}G", vm.config[disk])

        if not self.resize_returns_task:
            apply()
            return self._ok(None)
        return self._ok(self._start_task(vm, "resize", user, apply))

    def _power(self, vm: _Vm, action: str, user) -> Reply:
        if action == "start" and vm.status == "running":
            return self.error_reply(500, f"VM {vm.vmid} already running")
        if action in ("shutdown", "reboot") and vm.status != "running":
            return self.error_reply(500, f"VM {vm.vmid} not running")
        target = "stopped" if action in ("stop", "shutdown") else "running"

        def apply():
            vm.status = target

        return self._ok(self._start_task(vm, POWER_TASKS[action], user, apply))

    def _destroy(self, vmid: int, params, user) -> Reply:
        vm = self._vms.get(vmid)
        if vm is None:
            return self.error_reply(500, f"Configuration file 'nodes/{self.node}/qemu-server/{vmid}.conf' "
                                         "does not exist")
        lock = self._current_lock(vm)
        if lock:
            return self.error_reply(500, f"VM is locked ({lock})")
        if vm.status == "running":
            return self.error_reply(500, f"VM {vmid} is running - destroy failed")
        if vm.config.get("protection"):
            return self.error_reply(500, "can't remove VM - protection mode enabled")

        def apply():
            vm.files.clear()  # purge: the disks go with the config
            self._vms.pop(vmid, None)

        return self._ok(self._start_task(vm, "qmdestroy", user, apply, lock="destroyed"))

    def _clone(self, template_vmid: int, params, user) -> Reply:
        if self.adopt_unknown_vms and template_vmid not in self._vms:
            self.add_template(template_vmid)
        source = self._vms.get(template_vmid)
        if source is None:
            return self.error_reply(500, f"Configuration file 'nodes/{self.node}/qemu-server/{template_vmid}.conf' "
                                         "does not exist")
        newid = str(params.get("newid", ""))
        if not newid.isdigit():
            return self.error_reply(400, "Parameter verification failed. (newid: property is missing)")
        newid_int = int(newid)
        if newid_int in self._vms:
            return self.error_reply(500, f"unable to create VM {newid}: config file already exists")
        if str(params.get("full", "0")) != "1" and not source.config.get("template"):
            return self.error_reply(500, "Linked clone feature is not supported for drives (not a template)")
        storage = params.get("storage") or "local-lvm"
        config = copy.deepcopy(source.config)
        config.pop("template", None)
        config["name"] = params.get("name") or f"Copy-of-VM-{source.config.get('name')}"
        for key, value in list(config.items()):
            if isinstance(value, str) and f"vm-{template_vmid}-" in value:
                volume, _, options = value.partition(",")
                disk_name = volume.split(":", 1)[-1].replace(f"vm-{template_vmid}-", f"vm-{newid}-")
                config[key] = f"{storage}:{disk_name}" + (f",{options}" if options else "")
        config["net0"] = f"virtio=BC:24:11:{secrets.randbelow(256):02X}:{secrets.randbelow(256):02X}:" \
                         f"{secrets.randbelow(256):02X},bridge=vmbr1"
        # The VM exists (locked) from the start, as on PVE; a failed clone is removed again.
        clone = _Vm(newid_int, config, "stopped", files={})
        self._vms[newid_int] = clone
        files = dict(source.files)

        def apply():
            clone.files = files

        def undo():
            if self._vms.get(newid_int) is clone:
                self._vms.pop(newid_int)

        return self._ok(self._start_task(clone, "qmclone", user, apply, lock="clone", on_failure=undo))

    # --- usage and the console -------------------------------------------------------------

    def _console_call(self, vmid: int, call: str, method: str, params) -> Reply:
        if self.adopt_unknown_vms and vmid not in self._vms:
            self.add_vm(vmid, status="running")
        vm = self._vms.get(vmid)
        if vm is None:
            return self.error_reply(500, f"Configuration file 'nodes/{self.node}/qemu-server/{vmid}.conf' "
                                         "does not exist")
        if call == "rrddata" and method == "GET":
            if params.get("timeframe") not in RRD_SPANS or params.get("cf", "AVERAGE") not in ("AVERAGE", "MAX"):
                return self.error_reply(400, "Parameter verification failed. (timeframe)")
            disk = re.search(r"size=(\d+)G", " ".join(str(v) for v in vm.config.values()))
            return self._ok(rrd_points(vmid, params["timeframe"], int(vm.config.get("cores", 1)),
                                       int(vm.config.get("memory", 1024)), int(disk.group(1)) if disk else 0, now=self.rrd_now))
        if call == "vncproxy" and method == "POST":
            if vm.status != "running":
                return self.error_reply(500, f"VM {vmid} not running")
            port, ticket = str(next(self._vnc_ports)), f"PVEVNC:{int(time.time()):08X}::{secrets.token_hex(24)}"
            self._vnc[port] = (vmid, ticket, time.monotonic())
            return self._ok({"user": self.user, "ticket": ticket, "port": port, "cert": "-----BEGIN CERTIFICATE-----",
                             "upid": f"UPID:{self.node}:{next(self._pids):08X}:0:0:vncproxy:{vmid}:{self.user}:"})
        if call == "vncwebsocket" and method == "GET":
            issued = self._vnc.pop(str(params.get("port", "")), None)  # one connection per vncproxy
            if issued is None or issued[0] != vmid or not secrets.compare_digest(
                    issued[1].encode(), str(params.get("vncticket", "")).encode()):
                return self.error_reply(401, "permission denied - invalid vncticket")
            if time.monotonic() - issued[2] > VNC_TICKET_SECONDS:
                return self.error_reply(500, "timeout waiting for the VNC connection")
            name = str(vm.config.get("name") or f"vm-{vmid}")
            return Reply(101, None, upgrade=lambda handler: self._serve_console(handler, vmid, name, issued[1]))
        return self.error_reply(501, f"Method '{method} {call}' not implemented")

    def _serve_console(self, handler, vmid: int, name: str, ticket: str) -> None:
        key = handler.headers.get("Sec-WebSocket-Key")
        if handler.headers.get("Upgrade", "").lower() != "websocket" or not ws.is_valid_key(key):
            handler.send_error(400, "websocket upgrade expected")
            return
        handler.wfile.write(ws.handshake_response(key, ws.choose_protocol(handler.headers.get(
            "Sec-WebSocket-Protocol"))))
        handler.wfile.flush()
        with self._lock:
            self.consoles_served += 1
        serve_rfb(handler.connection, vmid, name, ticket)

    # --- tasks -----------------------------------------------------------------------------

    def _start_task(self, vm: _Vm, kind: str, user: str, apply, lock: str | None = None, on_failure=None) -> str:
        now = int(time.time())
        upid = f"UPID:{self.node}:{next(self._pids):08X}:{now * 100 % 0xFFFFFFFF:08X}:{now:08X}:" \
               f"{kind}:{vm.vmid}:{user}:"
        failures = self._task_failures.get(kind)
        task = _Task(upid, kind, vm.vmid, user, self.task_polls_before_done, apply, time.monotonic(),
                     exitstatus=failures.pop(0) if failures else "OK", lock=lock, on_failure=on_failure)
        task.fields = {"upid": upid, "node": self.node, "type": kind, "id": str(vm.vmid), "user": user,
                       "starttime": now, "pid": int(upid.split(":")[2], 16)}
        self._tasks[upid] = task
        vm.task = upid
        return upid

    def _task_status(self, upid: str) -> Reply:
        task = self._tasks.get(upid)
        if task is None:
            return self.error_reply(500, f"unable to parse worker upid '{upid}'")
        if not task.done and not self._overdue(task):
            if task.polls < task.polls_needed:
                task.polls += 1
                return self._ok({**task.fields, "status": "running"})
        self._finish(task)
        return self._ok({**task.fields, "status": "stopped", "exitstatus": task.exitstatus})

    def _overdue(self, task: _Task) -> bool:
        limit = self.task_seconds_before_done
        return limit is not None and time.monotonic() - task.started >= limit

    def _finish(self, task: _Task) -> None:
        if task.done:
            return
        task.done = True
        if task.exitstatus == "OK" or task.exitstatus.startswith("WARNINGS"):
            task.apply()
        elif task.on_failure is not None:
            task.on_failure()
        vm = self._vms.get(task.vmid)
        if vm is not None and vm.task == task.upid:
            vm.task = None

    # --- views -----------------------------------------------------------------------------

    def _current_lock(self, vm: _Vm) -> str | None:
        if vm.task and self._overdue(self._tasks[vm.task]):
            self._finish(self._tasks[vm.task])
        if vm.sticky_lock:
            return vm.sticky_lock
        if not vm.task:
            return None
        task = self._tasks[vm.task]
        return task.lock or task.kind

    def _shown_config(self, vm: _Vm, for_api: bool) -> dict:
        config = copy.deepcopy(vm.config)
        lock = self._current_lock(vm)
        if lock:
            config["lock"] = lock
        if for_api:
            if "cipassword" in config:
                config["cipassword"] = MASKED
            config["digest"] = self._digest(vm.config)
        return config

    @staticmethod
    def _digest(config: dict) -> str:
        return hashlib.sha1(repr(sorted(config.items())).encode()).hexdigest()

    def _summary(self, vm: _Vm) -> dict:
        disk = re.search(r"size=(\d+)G", " ".join(str(v) for v in vm.config.values()))
        return {"vmid": vm.vmid, "name": vm.config.get("name"), "status": vm.status,
                "cpus": vm.config.get("cores", 1), "maxmem": int(vm.config.get("memory", 0)) * 1024 * 1024,
                "maxdisk": int(disk.group(1)) * 1024 ** 3 if disk else 0}

    @staticmethod
    def _ok(data) -> Reply:
        return Reply(200, {"data": data})
