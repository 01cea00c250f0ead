"""The remote-system clients, built from the configuration (real hosts or the loopback simulators)."""
from flask import current_app

from oxnack_admin.clients.errors import PermanentRemoteError
from oxnack_admin.clients.pfsense import PfSenseClient
from oxnack_admin.clients.proxmox import ProxmoxClient


def proxmox_client(node: str | None = None) -> ProxmoxClient:
    """A Proxmox client for `node` (None: the configured PROXMOX_NODE); a token wins over a password."""
    config = current_app.config
    token = config.get("PROXMOX_TOKEN") or None
    if not token and not config.get("PROXMOX_PASSWORD"):
        raise PermanentRemoteError("Proxmox is not configured (set PROXMOX_TOKEN or PROXMOX_PASSWORD)")
    return ProxmoxClient(
        config["PROXMOX_URL"], node or config["PROXMOX_NODE"], user=config["PROXMOX_USER"],
        password=None if token else (config.get("PROXMOX_PASSWORD") or None), token=token,
        verify_tls=config["PROXMOX_VERIFY_TLS"], timeout=config["PROXMOX_TIMEOUT"],
        task_deadline_seconds=config["PROXMOX_TASK_DEADLINE"],
        poll_interval=config.get("PROXMOX_POLL_INTERVAL", 2),
    )


def pfsense_client() -> PfSenseClient:
    """A pfSense client; without an API key the network step fails with a message staff can act on."""
    config = current_app.config
    if not config.get("PFSENSE_API_KEY"):
        raise PermanentRemoteError("pfSense is not configured (PFSENSE_API_KEY is empty)")
    return PfSenseClient(config["PFSENSE_URL"], config["PFSENSE_API_KEY"],
                         verify_tls=config["PFSENSE_VERIFY_TLS"], timeout=config.get("PFSENSE_TIMEOUT", 15))
