"""The remote systems `make run` stands in for, each only when the configuration names no real one.

Adding one is a line in REMOTE_SYSTEMS (and its starter in cli/simulators.py's DEMO_STARTERS).
"""
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RemoteSystem:
    """A remote system: the setting that names a real one, and how the log and the console's banner name a stand-in."""

    key: str  # as SIMULATED_SYSTEMS lists it
    setting: str  # given (non-empty) by the instance config file or the environment: the real one is used
    real_value: str | None  # the value that names a real one; None: any non-empty value does
    label: str
    banner: str
    page_setting: str | None = None  # the stand-in's own web page is at this setting's URL: the banner links it
    page_label: str = ""

    def configured(self, given: Mapping) -> bool:
        """Whether `given` (settings.given_settings) names a real one."""
        value = given.get(self.setting)
        if value is None or value == "":
            return False
        return self.real_value is None or value == self.real_value


REMOTE_SYSTEMS = (
    RemoteSystem("hypervisor", "HYPERVISOR", "proxmox", "Proxmox and pfSense",
                 "Proxmox and pfSense are loopback stand-ins; nothing real is created."),
    RemoteSystem("platega", "PLATEGA_URL", None, "Platega",
                 "The payment gateway is a simulated Platega; no real money moves."),
    RemoteSystem("socks_upstream", "SOCKS_API_URL", None, "the proxy upstream",
                 "The proxy upstream is simulated; the proxies it sells are not real."),
    RemoteSystem("telegram", "TELEGRAM_API_URL", None, "the Telegram Bot API",
                 "Telegram is simulated: talk to the bot as a customer on the simulator's chat page "
                 "(also named in the make run log).", "TELEGRAM_API_URL", "Open the chat page"),
    RemoteSystem("bsc", "CRYPTO_RPC_URL", None, "the BNB Smart Chain node",
                 "The BNB Smart Chain node and its rates are simulated; no real coins move."),
)


def simulated_in(config: Mapping) -> list[RemoteSystem]:
    """The systems this app talks to stand-ins of: SIMULATED_SYSTEMS, and the HYPERVISOR / PAYMENT_GATEWAY marks."""
    keys = set(config.get("SIMULATED_SYSTEMS") or ())
    if config.get("HYPERVISOR") == "simulator":
        keys.add("hypervisor")
    if config.get("PAYMENT_GATEWAY") == "simulator":
        keys.add("platega")
    return [system for system in REMOTE_SYSTEMS if system.key in keys]
