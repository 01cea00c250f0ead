"""The simulators for the embedded default (`make run`): loopback Proxmox and pfSense, Platega and the proxy upstream.

The simulators live in the process that starts them; web, worker and scheduler processes
reach them through the URLs and keys in `environment`, read by settings.py like real hosts.
"""
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import Server
from oxnack_admin.simulator.bsc_node import USDT_CONTRACT, BscNodeSimulator
from oxnack_admin.simulator.pfsense import PfSenseSimulator
from oxnack_admin.simulator.platega import PlategaSimulator
from oxnack_admin.simulator.proxmox import ProxmoxSimulator
from oxnack_admin.simulator.socks_upstream import SocksUpstreamSimulator

# A task the client stopped waiting for still ends, as it would on a real node.
DEMO_TASK_SECONDS = 3.0
# Where the web process of `make run` takes Platega's callbacks.
DEMO_CALLBACK_URL = "http://127.0.0.1:7002/platega/callback"
DEMO_PROXIES = 300  # spread over seven countries; a few go offline and come back every 20 s
# The account xpub (m/44'/60'/0') of the BIP-39 test mnemonic "abandon ... about": its keys are public knowledge,
# so nothing sent to these addresses on a real chain is safe. For the simulated chain only.
DEMO_CRYPTO_XPUB = ("xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3mdhaWHPFsBngh5GFZaM6si3yZdUs"
                    "T8ddYM3PwnATt")


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
        return {**hypervisor_settings(self.proxmox, self.pfsense),
                **(platega_settings(self.platega) if self.platega else {}),
                **(socks_settings(self.socks) if self.socks else {})}

    @property
    def environment(self) -> dict:
        """The same as environment variables, for worker and web processes started next."""
        return as_environment(self.config)

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
    proxmox, pfsense = start_hypervisor(app_config, pool_vms, host=host, proxmox_port=proxmox_port,
                                        pfsense_port=pfsense_port)
    platega = socks = None
    try:
        if platega_callback_url:
            platega = PlategaSimulator(callback_url=platega_callback_url, host=host, port=platega_port).start()
        if socks_port is not None:
            socks = start_socks_upstream(host, socks_port)
    except Exception:
        for server in (proxmox, pfsense, platega):
            if server is not None:
                server.stop()
        raise
    return StartedSimulators(proxmox, pfsense, platega, socks)


def start_hypervisor(app_config, pool_vms: Iterable[Server] | None = None, *, host: str = "127.0.0.1",
                     proxmox_port: int = 0, pfsense_port: int = 0) -> tuple[ProxmoxSimulator, PfSenseSimulator]:
    """Proxmox (pool VMs and OS templates registered; without `pool_vms`, read from the database) and pfSense."""
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
    try:
        pfsense.start()
    except Exception:
        proxmox.stop()
        raise
    return proxmox, pfsense


def start_socks_upstream(host: str = "127.0.0.1", port: int = 0) -> SocksUpstreamSimulator:
    """A proxy upstream selling DEMO_PROXIES proxies, a few of them going offline and back."""
    socks = SocksUpstreamSimulator(host=host, port=port)
    socks.seed(DEMO_PROXIES)
    socks.start().start_churn()
    return socks


def start_bsc_node(app_config, host: str = "127.0.0.1", port: int = 0) -> BscNodeSimulator:
    """A BNB Smart Chain node (the configured chain id and USDT contract) and a rate source, mining every few seconds."""
    return BscNodeSimulator(int(app_config.get("CRYPTO_CHAIN_ID") or 56), host=host, port=port,
                            usdt_contract=app_config.get("CRYPTO_USDT_CONTRACT") or USDT_CONTRACT).start().start_mining()


def bsc_settings(chain: BscNodeSimulator, app_config) -> dict:
    """The node's URL; its rates and the demo xpub only where the configuration gives none."""
    settings = {"CRYPTO_RPC_URL": chain.url}
    if not app_config.get("CRYPTO_RATE_URL"):
        settings["CRYPTO_RATE_URL"] = chain.url + "/rates"
    if not app_config.get("CRYPTO_XPUB"):
        settings["CRYPTO_XPUB"] = DEMO_CRYPTO_XPUB
    return settings


def hypervisor_settings(proxmox: ProxmoxSimulator, pfsense: PfSenseSimulator) -> dict:
    return {"HYPERVISOR": "simulator",
            "PROXMOX_URL": proxmox.url, "PROXMOX_NODE": proxmox.node, "PROXMOX_USER": proxmox.user,
            "PROXMOX_TOKEN": proxmox.token, "PROXMOX_PASSWORD": "", "PROXMOX_VERIFY_TLS": False,
            "PFSENSE_URL": pfsense.url, "PFSENSE_API_KEY": pfsense.api_key, "PFSENSE_VERIFY_TLS": False}


def platega_settings(platega: PlategaSimulator) -> dict:
    return {"PAYMENT_GATEWAY": "simulator", "PLATEGA_URL": platega.url,
            "PLATEGA_MERCHANT_ID": platega.merchant_id, "PLATEGA_SECRET": platega.secret}


def socks_settings(socks: SocksUpstreamSimulator) -> dict:
    return {"SOCKS_API_URL": socks.api_url, "SOCKS_API_TOKEN": socks.token}


def as_environment(settings: dict) -> dict:
    """Settings as the OXNACK_<NAME> variables settings.py reads back (booleans as 0/1)."""
    return {f"OXNACK_{key}": ("1" if value else "0") if isinstance(value, bool) else str(value)
            for key, value in settings.items()}


def register_vm(proxmox: ProxmoxSimulator, server: Server, app_config) -> None:
    """Make a servers row exist in the simulated node as its pool clone would (sold ones as sold)."""
    min_hdd = int(app_config.get("MIN_HDD", 15))
    proxmox.add_vm(server.id, name=server.name or f"pool-{server.os or 'vm'}-{server.id}",
                   cores=server.cores or 1, memory=(server.ram or 1) * 1024,
                   disk_gb=max(server.hdd or min_hdd, min_hdd),
                   status="running" if server.status == "on" else "stopped")
