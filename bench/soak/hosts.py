"""The soak's hosts: app, worker and scheduler processes, each in a network namespace of its own.

Network namespaces joined by veth pairs to a bridge carry the hosts' addresses, taken from
198.18.0.0/15 (RFC 2544's benchmark range) and existing only on this machine: the infrastructure
(PostgreSQL, Redis, simulators, SMTP sink, the load generator) sits on the bridge's address, each
host on one of its own. Where namespaces cannot be made (not root, no `ip`), every host runs on
loopback instead, apps on ports of their own.
"""
import logging
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("soak")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


class Network:
    """Addresses for the infrastructure and each host, and how to run a command on a host."""

    def __init__(self, host_names: list[str], allow_namespaces: bool = True):
        self.host_names = host_names
        self.tag = str(os.getpid())  # names fit in 15 characters; a dead run's leftovers are found by it
        self.subnet = 2 + os.getpid() % 250  # 198.18.<subnet>.0/24: concurrent runs do not collide
        self.namespaces = False
        self._made: list[str] = []
        if allow_namespaces and os.geteuid() == 0 and shutil.which("ip"):
            try:
                remove_leftovers()
                self._build()
                self.namespaces = True
            except (subprocess.CalledProcessError, OSError) as exc:
                log.warning("network namespaces not permitted (%s); every host runs on loopback",
                            getattr(exc, "stderr", exc))
                self.teardown()

    @property
    def mode(self) -> str:
        return "network namespaces" if self.namespaces else "loopback"

    @property
    def infra(self) -> str:
        """Where PostgreSQL, Redis, the simulators and the SMTP sink listen."""
        return f"198.18.{self.subnet}.1" if self.namespaces else "127.0.0.1"

    def address(self, host: str) -> str:
        if not self.namespaces:
            return "127.0.0.1"
        return f"198.18.{self.subnet}.{10 + self.host_names.index(host)}"

    def namespace(self, host: str) -> str:
        return f"oxs{self.tag}-{host}"

    def command(self, host: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.namespace(host), *argv] if self.namespaces else argv

    def _build(self) -> None:
        bridge = f"oxs{self.tag}br"
        _ip("link", "add", bridge, "type", "bridge")
        self._made.append(f"link:{bridge}")
        _ip("addr", "add", f"198.18.{self.subnet}.1/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for index, host in enumerate(self.host_names):
            namespace, outside, inside = self.namespace(host), f"oxs{self.tag}h{index}", f"oxs{self.tag}n{index}"
            _ip("netns", "add", namespace)
            self._made.append(f"netns:{namespace}")
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            self._made.append(f"link:{outside}")
            _ip("link", "set", inside, "netns", namespace)
            _ip("link", "set", outside, "master", bridge)
            _ip("link", "set", outside, "up")
            _ip("-n", namespace, "link", "set", "lo", "up")
            _ip("-n", namespace, "link", "set", inside, "name", "eth0")
            _ip("-n", namespace, "addr", "add", f"198.18.{self.subnet}.{10 + index}/24", "dev", "eth0")
            _ip("-n", namespace, "link", "set", "eth0", "up")

    def teardown(self) -> None:
        for item in reversed(self._made):
            kind, name = item.split(":", 1)
            if kind == "netns":
                _ip("netns", "del", name, check=False)
            else:
                _ip("link", "del", name, check=False)
        self._made.clear()


def remove_leftovers() -> None:
    """Namespaces and links of soak runs whose process is gone (killed before its tear-down)."""
    names = _ip("netns", "list", check=False).stdout.split()
    links = [line.split(":")[1].strip().split("@")[0] for line in _ip("-o", "link", check=False).stdout.splitlines()
             if line.count(":") >= 2]
    for name in names + links:
        match = re.fullmatch(r"oxs(\d+)(-.*|br|h\d+|n\d+)", name)
        if match and not os.path.exists(f"/proc/{match.group(1)}"):
            if name in names:
                _ip("netns", "del", name, check=False)
            else:
                _ip("link", "del", name, check=False)


@dataclass
class Host:
    """One process group standing for a machine: start(), kill() (SIGKILL, as a crash), stop()."""

    name: str
    role: str  # app, worker, scheduler
    argv: list[str]
    env: dict
    logs: Path
    network: Network
    process: subprocess.Popen | None = None
    starts: int = 0
    kills: int = 0
    exits: list = field(default_factory=list)

    def start(self) -> None:
        out = open(self.logs / f"{self.name}.log", "ab")
        self.process = subprocess.Popen(self.network.command(self.name, self.argv), env=self.env, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        cwd=str(Path(__file__).resolve().parents[2]))
        out.close()
        self.starts += 1

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group (the worker and its work horse), as a host that loses power."""
        if self.process is None:
            return
        import psutil

        try:  # RQ puts each work horse in a process group of its own: find them first
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        for pid in [self.process.pid, *(child.pid for child in children)]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.process.wait()
        self.kills += 1
        self.process = None

    def stop(self, timeout: float = 15) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        else:
            self.exits.append(self.process.returncode)
        self.process = None


def unexpected_exits(hosts: list[Host]) -> list[str]:
    """Hosts that died without being killed by the injector."""
    return [f"{h.name} exited {h.process.returncode}" for h in hosts
            if h.process is not None and h.process.poll() is not None]


def wait_for(check, timeout: float) -> float | None:
    """Seconds until `check()` held, or None after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except Exception:
            pass
        time.sleep(0.2)
    return None
