"""Proxmox VE client on proxmoxer: every write waits for its task and checks the VM lock."""
import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import requests
from proxmoxer import AuthenticationError, ProxmoxAPI, ProxmoxResource, ResourceException
from proxmoxer.backends.https import (
    JsonSerializer,
    ProxmoxHTTPApiTokenAuth,
    ProxmoxHTTPAuth,
    ProxmoxHttpSession,
)

from .errors import PermanentRemoteError, RemoteError, TransientRemoteError, error_for_status, short, transport_error

log = logging.getLogger(__name__)


class _QuietProxmoxer(logging.Filter):
    """Drop proxmoxer's INFO/DEBUG records: they carry request bodies (cipassword) and tickets."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


# A filter holds even if someone lowers proxmoxer's logger level later (LOG_LEVEL=DEBUG).
logging.getLogger("proxmoxer.core").addFilter(_QuietProxmoxer())

DISK_BUSES = ("scsi", "virtio", "sata", "ide")
_SIZE_UNITS = {"K": 1 / (1024 * 1024), "M": 1 / 1024, "G": 1, "T": 1024}
_AUTH_CODE = re.compile(r"code: (\d+)\s*$")


RRD_TIMEFRAMES = ("hour", "day", "week", "month", "year")


@dataclass(frozen=True)
class VncTarget:
    """Where and how to open a VM's vncwebsocket with our own credentials (never shown to a browser)."""

    url: str  # ws:// or wss://
    headers: dict
    verify_tls: bool


class ProxmoxClient:
    """The few Proxmox VE calls the jobs need, with task waiting and retry-friendly errors."""

    def __init__(self, url: str, node: str, user: str = "root@pam", password: str | None = None,
                 token: str | None = None, verify_tls: bool = True, timeout: float = 15,
                 task_deadline_seconds: float = 300, poll_interval: float = 2.0):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("Proxmox URL must look like https://host:8006")
        if bool(password) == bool(token):
            raise ValueError("give the Proxmox client exactly one of password and token")
        self.url = f"{parts.scheme}://{parts.netloc}"
        self.node = node
        self.user = user
        self.verify_tls = verify_tls
        self.timeout = timeout
        self.task_deadline_seconds = task_deadline_seconds
        self.poll_interval = poll_interval
        self._password = password or None
        self._token = None
        if token:
            # "user@realm!tokenid=secret": the token names its own user.
            match = re.fullmatch(r"([^!=\s]+@[^!=\s]+)!([^=\s]+)=(\S+)", token)
            if not match:
                raise ValueError("Proxmox token must look like user@realm!tokenid=secret")
            self.user, token_name, token_value = match.groups()
            self._token = (token_name, token_value)
        self._api = None

    def __repr__(self) -> str:
        return f"ProxmoxClient({self.url!r}, node={self.node!r}, user={self.user!r})"

    # --- reads -----------------------------------------------------------------------------

    def get_config(self, vmid: int) -> dict:
        """The VM's current config as PVE returns it (`lock` present while something holds it)."""
        config = self._call(f"read VM {vmid} config",
                            lambda api: api.nodes(self.node).qemu(vmid).config.get())
        if not isinstance(config, dict):
            raise PermanentRemoteError(f"Proxmox returned no config for VM {vmid}")
        return config

    def current_status(self, vmid: int) -> str:
        """"running" or "stopped"."""
        data = self._call(f"read VM {vmid} status",
                          lambda api: api.nodes(self.node).qemu(vmid).status.current.get())
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            raise PermanentRemoteError(f"Proxmox returned no status for VM {vmid}")
        return data["status"]

    def vm_exists(self, vmid: int) -> bool:
        """Whether the node has a VM with this id (read from the node's VM list)."""
        vms = self._call("list VMs", lambda api: api.nodes(self.node).qemu.get())
        if not isinstance(vms, list):
            raise PermanentRemoteError("Proxmox returned no VM list")
        return any(str(vm.get("vmid")) == str(vmid) for vm in vms if isinstance(vm, dict))

    def ensure_unlocked(self, vmid: int) -> dict:
        """Raise TransientRemoteError while the VM holds a lock (backup, clone...); return the config."""
        config = self.get_config(vmid)
        if config.get("lock"):
            raise TransientRemoteError(f"VM {vmid} is locked ({config['lock']}); try again later")
        return config

    @staticmethod
    def find_disk_key(config: dict) -> str:
        """The first real disk (scsiN, virtioN, sataN, then ideN), skipping CD-ROM and cloud-init drives."""
        for bus in DISK_BUSES:
            slots = sorted((int(key[len(bus):]), key) for key in config
                           if re.fullmatch(rf"{bus}\d+", key))
            for _, key in slots:
                value = str(config[key])
                volume = value.split(",", 1)[0]
                if "media=cdrom" in value or "cloudinit" in volume or volume == "none":
                    continue
                return key
        raise PermanentRemoteError("the VM config has no disk to resize")

    @staticmethod
    def disk_size_gb(config: dict, disk_key: str) -> float:
        """Size of a disk in GiB, read from its `size=` option (0 when PVE does not say)."""
        match = re.search(r"(?:^|,)size=(\d+(?:\.\d+)?)([KMGT])", str(config.get(disk_key, "")))
        return float(match.group(1)) * _SIZE_UNITS[match.group(2)] if match else 0.0

    def rrd_data(self, vmid: int, timeframe: str) -> list[dict]:
        """The VM's usage points (`cf=AVERAGE`) as PVE gives them: a value it has not got is left out."""
        if timeframe not in RRD_TIMEFRAMES:
            raise ValueError(f"unknown rrd timeframe {timeframe!r}")
        data = self._call(f"read VM {vmid} usage", lambda api: api.nodes(self.node).qemu(vmid).rrddata.get(
            timeframe=timeframe, cf="AVERAGE"))
        if not isinstance(data, list):
            raise PermanentRemoteError(f"Proxmox returned no usage data for VM {vmid}")
        return [point for point in data if isinstance(point, dict)]

    # --- the console -----------------------------------------------------------------------

    def vnc_proxy(self, vmid: int) -> dict:
        """Open a VNC proxy for a websocket: {"port", "ticket"}; vncwebsocket must follow within ~10 s."""
        data = self._call(f"open a VNC proxy to VM {vmid}",
                          lambda api: api.nodes(self.node).qemu(vmid).vncproxy.post(websocket=1))
        if not isinstance(data, dict) or not data.get("ticket") or data.get("port") in (None, ""):
            raise PermanentRemoteError(f"Proxmox returned no VNC ticket for VM {vmid}")
        return {"port": str(data["port"]), "ticket": str(data["ticket"])}

    def vnc_websocket(self, vmid: int, port: str, ticket: str) -> VncTarget:
        """The vncwebsocket URL and our auth headers (token, or a ticket cookie from a fresh login)."""
        parts = urlsplit(self.url)
        query = urlencode({"port": port, "vncticket": ticket})
        url = (f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}/api2/json/nodes/{self.node}"
               f"/qemu/{vmid}/vncwebsocket?{query}")
        if self._token:
            headers = {"Authorization": f"PVEAPIToken={self.user}!{self._token[0]}={self._token[1]}"}
        else:
            auth = self._connection()._store["session"].auth
            if not getattr(auth, "pve_auth_ticket", ""):
                self._call("log in", lambda api: api.version.get())
            headers = {"Cookie": f"PVEAuthCookie={auth.pve_auth_ticket}"}
        return VncTarget(url, headers, self.verify_tls)

    # --- writes ----------------------------------------------------------------------------

    def update_config(self, vmid: int, **params) -> None:
        """POST config changes (cores, memory, ciuser, cipassword, ipconfig0...) and wait for them."""
        data = {key: int(value) if isinstance(value, bool) else value for key, value in params.items()}
        log.info("proxmox: VM %s config update (%s)", vmid, ", ".join(sorted(data)))
        self._write(vmid, "update config", lambda api: api.nodes(self.node).qemu(vmid).config.post(**data))

    def resize_disk(self, vmid: int, disk_key: str, grow_gb: int) -> None:
        """Grow a disk by `grow_gb` GiB; 0 does nothing. Not idempotent: derive grow_gb from disk_size_gb."""
        if grow_gb < 0 or int(grow_gb) != grow_gb:
            raise PermanentRemoteError(f"a disk can only grow by whole GiB, not {grow_gb}")
        if grow_gb == 0:
            return
        log.info("proxmox: VM %s grow %s by %sG", vmid, disk_key, grow_gb)
        self._write(vmid, f"grow disk {disk_key}", lambda api: api.nodes(self.node).qemu(vmid).resize.put(
            disk=disk_key, size=f"+{int(grow_gb)}G"))

    def start(self, vmid: int) -> None:
        """Start the VM unless it already runs."""
        if self.current_status(vmid) != "running":
            try:
                self._power(vmid, "start")
            except RemoteError as exc:
                # An earlier start (whose answer a retry never saw) ended between our read and this
                # call: PVE refuses with "already running", which is what was asked for.
                if "already running" not in str(exc) or self.current_status(vmid) != "running":
                    raise

    def shutdown(self, vmid: int, timeout: int = 60, force_stop: bool = False) -> None:
        """Ask the guest to power off within `timeout` s (then hard-stop it if `force_stop`)."""
        if self.current_status(vmid) == "stopped":
            return
        self._power(vmid, "shutdown", deadline=timeout + self.task_deadline_seconds,
                    timeout=int(timeout), forceStop=int(force_stop))

    def stop(self, vmid: int) -> None:
        """Hard-stop the VM unless it is already stopped."""
        if self.current_status(vmid) != "stopped":
            self._power(vmid, "stop")

    def reboot(self, vmid: int) -> None:
        """Reboot a running VM (applies pending config); a stopped VM is refused."""
        if self.current_status(vmid) != "running":
            raise PermanentRemoteError(f"VM {vmid} is not running, so it cannot be rebooted")
        self._power(vmid, "reboot")

    def destroy(self, vmid: int) -> None:
        """Delete a stopped VM with all its disks, and wait for the task (PVE refuses a running VM)."""
        self.ensure_unlocked(vmid)
        log.info("proxmox: VM %s destroy", vmid)
        upid = self._call(f"destroy VM {vmid}", lambda api: api.nodes(self.node).qemu(vmid).delete(
            purge=1, **{"destroy-unreferenced-disks": 1}))
        self._wait_upid(upid, f"destroy of VM {vmid}")

    def clone(self, template_vmid: int, newid: int, name: str, storage: str) -> dict:
        """Full clone of a template as VM `newid`; waits for the task and the `clone` lock; returns its config."""
        log.info("proxmox: clone template %s as VM %s", template_vmid, newid)
        upid = self._call(f"clone template {template_vmid} as VM {newid}",
                          lambda api: api.nodes(self.node).qemu(template_vmid).clone.post(
                              newid=newid, full=1, name=name, storage=storage))
        self._wait_upid(upid, f"clone of template {template_vmid} as VM {newid}")
        return self.wait_unlocked(newid)

    def wait_unlocked(self, vmid: int, deadline_seconds: float | None = None) -> dict:
        """Poll the VM's config until it carries no lock; a lock past the deadline is transient."""
        deadline = time.monotonic() + (deadline_seconds or self.task_deadline_seconds)
        while True:
            config = self.get_config(vmid)
            if not config.get("lock"):
                return config
            if time.monotonic() >= deadline:
                raise TransientRemoteError(f"VM {vmid} is still locked ({config['lock']})")
            time.sleep(self.poll_interval)

    def _wait_upid(self, upid, what: str) -> None:
        if not isinstance(upid, str) or not upid.startswith("UPID:"):
            raise PermanentRemoteError(f"Proxmox answered the {what} without a task id")
        self.wait_task(upid)

    def wait_task(self, upid: str, deadline_seconds: float | None = None) -> None:
        """Poll a task until it stops; OK passes, another exitstatus is permanent, a timeout transient."""
        fields = upid.split(":")
        node = fields[1] if len(fields) > 7 and fields[0] == "UPID" else self.node
        label = f"task {fields[5]} on VM {fields[6]}" if len(fields) > 7 else "task"
        deadline = time.monotonic() + (deadline_seconds or self.task_deadline_seconds)
        while True:
            task = self._call(f"read {label}", lambda api: api.nodes(node).tasks(upid).status.get())
            if not isinstance(task, dict):
                raise PermanentRemoteError(f"Proxmox returned no status for {label}")
            if task.get("status") == "stopped":
                exitstatus = str(task.get("exitstatus", ""))
                if exitstatus == "OK":
                    return
                if exitstatus.startswith("WARNINGS"):
                    # PVE reports a task that completed with warnings this way; the change is made.
                    log.warning("proxmox: %s finished with %s", label, exitstatus)
                    return
                raise PermanentRemoteError(f"Proxmox {label} failed: {short(exitstatus or 'unknown error')}")
            if time.monotonic() >= deadline:
                raise TransientRemoteError(f"Proxmox {label} still running after the deadline")
            time.sleep(self.poll_interval)

    # --- plumbing --------------------------------------------------------------------------

    def _power(self, vmid: int, action: str, deadline: float | None = None, **params) -> None:
        log.info("proxmox: VM %s %s", vmid, action)
        self._write(vmid, action, lambda api: getattr(api.nodes(self.node).qemu(vmid).status, action).post(
            **params), deadline=deadline)

    def _write(self, vmid: int, what: str, send, deadline: float | None = None) -> None:
        """Send a write to an unlocked VM; when PVE answers with a task, wait and recheck the lock."""
        self.ensure_unlocked(vmid)
        result = self._call(f"{what} of VM {vmid}", send)
        if result is None:  # a synchronous change (PUT config, older resize) is done already
            return
        if not isinstance(result, str) or not result.startswith("UPID:"):
            raise PermanentRemoteError(f"Proxmox answered {what} of VM {vmid} without a task id")
        self.wait_task(result, deadline)
        config = self.get_config(vmid)
        if config.get("lock"):
            raise TransientRemoteError(f"VM {vmid} is still locked ({config['lock']}) after {what}")

    def _call(self, what: str, request):
        """Run one API request and turn transport and HTTP failures into RemoteError subclasses."""
        try:
            return request(self._connection())
        except RemoteError:
            raise
        except requests.exceptions.RequestException as exc:
            raise transport_error(exc, "Proxmox", self.url, what) from exc
        except AuthenticationError as exc:
            # proxmoxer folds every ticket failure into this; its text ends with the HTTP code.
            match = _AUTH_CODE.search(str(exc))
            status = int(match.group(1)) if match else 401
            raise error_for_status(status, f"Proxmox login as {self.user} failed (HTTP {status})") from exc
        except ResourceException as exc:
            if exc.status_code == 401:
                self._api = None  # log in afresh next time: the ticket may have been revoked
            detail = short(exc.content or exc.status_message or "")
            if exc.errors:
                detail = short(f"{detail} {exc.errors}")
            raise error_for_status(exc.status_code, f"Proxmox refused to {what}: HTTP {exc.status_code} "
                                                    f"{detail}".rstrip()) from exc
        except (KeyError, ValueError, TypeError) as exc:
            raise PermanentRemoteError(f"Proxmox sent data we cannot read ({what})") from exc

    def _connection(self):
        """The proxmoxer API root, logging in on first use (ticket auth needs a round trip)."""
        if self._api is None:
            self._api = self._connect()
        return self._api

    def _connect(self):
        parts = urlsplit(self.url)
        auth = ({"token_name": self._token[0], "token_value": self._token[1]} if self._token
                else {"password": self._password})
        if parts.scheme == "https":
            return ProxmoxAPI(parts.hostname, port=parts.port or 8006, user=self.user, backend="https",
                              verify_ssl=self.verify_tls, timeout=self.timeout, **auth)
        # proxmoxer's https backend hard-codes "https://" in its base URL and ticket request, so plain
        # http (the loopback simulator) assembles the same auth, session and serializer by hand.
        base_url = f"{self.url}/api2/json"
        options = {"verify_ssl": self.verify_tls, "timeout": self.timeout}
        if self._token:
            session_auth = ProxmoxHTTPApiTokenAuth(self.user, *self._token, **options)
        else:
            session_auth = ProxmoxHTTPAuth(self.user, self._password, base_url=base_url, **options)
        serializer = JsonSerializer()
        session = ProxmoxHttpSession()
        session.auth = session_auth
        session.headers["accept"] = serializer.get_accept_types()
        return ProxmoxResource(base_url=base_url, session=session, serializer=serializer)
