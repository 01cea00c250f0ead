"""The simulators for the embedded default (`make run`): loopback Proxmox and pfSense, Platega and the proxy upstream.

The simulators live in the process that starts them; web, worker and scheduler processes
reach them through the URLs and keys in `environment`, read by settings.py like real hosts.
"""
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import Server
from oxnack_admin.simulator.pfsense import PfSenseSimulator
from oxnack_admin.simulator.platega import PlategaSimulator
from oxnack_admin.simulator.proxmox import ProxmoxSimulator
from oxnack_admin.simulator.socks_upstream import SocksUpstreamSimulator

# A task the client stopped waiting for still ends, as it would on a real node.
DEMO_TASK_SECONDS = 3.0
# Where the web process of `make run` takes Platega's callbacks.
DEMO_CALLBACK_URL = "http://127.0.0.1:7002/platega/callback"
DEMO_PROXIES = 300  # spread over seven countries; a few go offline and come back every 20 s


@dataclass
class StartedSimulators:
    """The simulators, running; unpacks as (proxmox, pfsense). `platega` and `socks` when simulated too."""

    proxmox: ProxmoxSimulator
    pfsense: PfSenseSimulator
    platega: PlategaSimulator | None = None
    socks: SocksUpstreamSimulator | None = None

    def __iter__(self):
        return iter((self.proxmox, self.pfsense))

    @property
    def servers(self) -> list:
        """What to stop() at shutdown."""
        return ([self.proxmox, self.pfsense] + ([self.platega] if self.platega else [])
                + ([self.socks] if self.socks else []))

    @property
    def config(self) -> dict:
        """App config keys pointing the real clients at the simulators."""
        return {
            "HYPERVISOR": "simulator",
            "PROXMOX_URL": self.proxmox.url, "PROXMOX_NODE": self.proxmox.node,
            "PROXMOX_USER": self.proxmox.user, "PROXMOX_TOKEN": self.proxmox.token, "PROXMOX_PASSWORD": "",
            "PROXMOX_VERIFY_TLS": False,
            "PFSENSE_URL": self.pfsense.url, "PFSENSE_API_KEY": self.pfsense.api_key, "PFSENSE_VERIFY_TLS": False,
            **({"PAYMENT_GATEWAY": "simulator", "PLATEGA_URL": self.platega.url,
                "PLATEGA_MERCHANT_ID": self.platega.merchant_id, "PLATEGA_SECRET": self.platega.secret}
               if self.platega else {}),
            **({"SOCKS_API_URL": self.socks.api_url, "SOCKS_API_TOKEN": self.socks.token} if self.socks else {}),
        }

    @property
    def environment(self) -> dict:
        """The same as environment variables, for worker and web processes started next."""
        return {
            "OXNACK_HYPERVISOR": "simulator",
            "OXNACK_PROXMOX_URL": self.proxmox.url, "OXNACK_PROXMOX_NODE": self.proxmox.node,
            "OXNACK_PROXMOX_USER": self.proxmox.user, "OXNACK_PROXMOX_TOKEN": self.proxmox.token,
            "OXNACK_PROXMOX_PASSWORD": "", "OXNACK_PROXMOX_VERIFY_TLS": "0",
            "OXNACK_PFSENSE_URL": self.pfsense.url, "OXNACK_PFSENSE_API_KEY": self.pfsense.api_key,
            **({"OXNACK_PAYMENT_GATEWAY": "simulator", "OXNACK_PLATEGA_URL": self.platega.url,
                "OXNACK_PLATEGA_MERCHANT_ID": self.platega.merchant_id, "OXNACK_PLATEGA_SECRET": self.platega.secret}
               if self.platega else {}),
            **({"OXNACK_SOCKS_API_URL": self.socks.api_url, "OXNACK_SOCKS_API_TOKEN": self.socks.token}
               if self.socks else {}),
        }

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def start_simulators(app_config, pool_vms: Iterable[Server] | None = None, *, proxmox_port: int = 0,
                     pfsense_port: int = 0, host: str = "127.0.0.1", platega_callback_url: str | None = None,
                     platega_port: int = 0, socks_port: int | None = None) -> StartedSimulators:
    """Start the simulators on loopback with every pool VM registered in the Proxmox one.

    With `platega_callback_url`, a Platega simulator too, calling back the app at that URL.
    With `socks_port` (0: any free port) a proxy upstream with DEMO_PROXIES proxies starts too.

    Without `pool_vms` the servers table is read, so call it inside an app context.
    """
    proxmox = ProxmoxSimulator(node=app_config.get("PROXMOX_NODE") or "pve", host=host, port=proxmox_port,
                               task_polls_before_done=1, task_seconds_before_done=DEMO_TASK_SECONDS)
    pfsense = PfSenseSimulator(host=host, port=pfsense_port)
    if pool_vms is None:
        pool_vms = db.session.scalars(select(Server).order_by(Server.id)).all()
    for server in pool_vms:
        register_vm(proxmox, server, app_config)
    for template in (app_config.get("OS_TEMPLATES") or {}).values():
        template_vmid = int(template["template_vmid"])
        if not proxmox.has_vm(template_vmid):  # wipes re-create pool VMs as clones of these
            proxmox.add_template(template_vmid, disk_gb=int(app_config.get("MIN_HDD", 15)))
    proxmox.start()
    platega = (PlategaSimulator(callback_url=platega_callback_url, host=host, port=platega_port)
               if platega_callback_url else None)
    socks = None
    try:
        pfsense.start()
        if platega:
            platega.start()
        if socks_port is not None:
            socks = SocksUpstreamSimulator(host=host, port=socks_port)
            socks.seed(DEMO_PROXIES)
            socks.start().start_churn()
    except Exception:
        proxmox.stop()
        pfsense.stop()
        raise
    return StartedSimulators(proxmox, pfsense, platega, socks)


def register_vm(proxmox: ProxmoxSimulator, server: Server, app_config) -> None:
    """Make a servers row exist in the simulated node as its pool clone would (sold ones as sold)."""
    min_hdd = int(app_config.get("MIN_HDD", 15))
    proxmox.add_vm(server.id, name=server.name or f"pool-{server.os or 'vm'}-{server.id}",
                   cores=server.cores or 1, memory=(server.ram or 1) * 1024,
                   disk_gb=max(server.hdd or min_hdd, min_hdd),
                   status="running" if server.status == "on" else "stopped")
