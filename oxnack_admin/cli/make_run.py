"""What `make run` simulates: each remote system only when the configuration names no real one.

"Configured" means given, non-empty, by the instance config file or the environment
(settings.given_settings). A value given there is never replaced by a stand-in's: a stand-in
whose settings would replace one stops the start instead, naming the settings.
"""
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import Flask

from oxnack_admin.settings import ConfigurationError, given_settings
from oxnack_admin.simulator.platega import PlategaSimulator
from oxnack_admin.simulator.systems import REMOTE_SYSTEMS, RemoteSystem
from oxnack_admin.simulator.telegram import TelegramSimulator

from .simulators import (
    bsc_settings,
    hypervisor_settings,
    platega_settings,
    socks_settings,
    start_bsc_node,
    start_hypervisor,
    start_socks_upstream,
)


@dataclass
class Simulated:
    """A stand-in `make run` started: what to stop, the settings that point the app at it, what to tell the operator."""

    system: RemoteSystem
    servers: list
    settings: dict
    notes: list[str] = field(default_factory=list)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def demo_hypervisor(app_config, site_url: str) -> tuple[list, dict, list[str]]:
    proxmox, pfsense = start_hypervisor(app_config)
    proxmox.adopt_unknown_vms = True  # pool VMs staff add later exist as fresh clones
    return ([proxmox, pfsense], hypervisor_settings(proxmox, pfsense),
            [f"Proxmox at {proxmox.url}, pfSense at {pfsense.url}"])


def demo_platega(app_config, site_url: str) -> tuple[list, dict, list[str]]:
    platega = PlategaSimulator(callback_url=f"{site_url}/platega/callback").start()
    page = (f"Platega at {platega.url}: its payments page {platega.url}/ confirms, cancels or charges back "
            "a payment and calls the app back")
    return [platega], platega_settings(platega), [page]


def demo_socks_upstream(app_config, site_url: str) -> tuple[list, dict, list[str]]:
    socks = start_socks_upstream()
    return [socks], socks_settings(socks), [f"proxy upstream at {socks.api_url}"]


def demo_telegram(app_config, site_url: str) -> tuple[list, dict, list[str]]:
    token = f"{secrets.randbelow(10 ** 9)}:{secrets.token_urlsafe(24)}"
    secret = secrets.token_urlsafe(24)
    telegram = TelegramSimulator(token).start()
    telegram.webhook_url, telegram.webhook_secret = f"{site_url}/telegram/webhook", secret  # as setWebhook would
    settings = {"TELEGRAM_API_URL": telegram.url, "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_WEBHOOK_SECRET": secret,
                "TELEGRAM_PUBLIC_URL": site_url}
    return [telegram], settings, [f"Telegram Bot API at {telegram.url}: its chat page {telegram.url}/ talks to the bot"]


def demo_bsc(app_config, site_url: str) -> tuple[list, dict, list[str]]:
    chain = start_bsc_node(app_config)
    return [chain], bsc_settings(chain, app_config), [
        f"BNB Smart Chain node at {chain.url} (a block every {chain.block_seconds} s): its page {chain.url}/ "
        "pays a crypto invoice's address and shows the confirmations arrive"]


# RemoteSystem.key -> its starter: (app config, the app's own base URL) -> (servers, settings, log lines).
DEMO_STARTERS = {"hypervisor": demo_hypervisor, "platega": demo_platega, "socks_upstream": demo_socks_upstream,
                 "telegram": demo_telegram, "bsc": demo_bsc}


def given_non_empty(app: Flask) -> dict:
    """The settings the instance config file or the environment give a value (an empty one counts as not given)."""
    return {key: value for key, value in given_settings(app).items() if value is not None and value != ""}


def unconfigured(given: Mapping) -> list[RemoteSystem]:
    """The remote systems `given` names no real one of, in REMOTE_SYSTEMS order."""
    return [system for system in REMOTE_SYSTEMS if not system.configured(given)]


def simulate_unconfigured(app: Flask, site_url: str) -> list[Simulated]:
    """Start a stand-in for each unconfigured remote system (inside an app context: the pool is read)."""
    given = given_non_empty(app)
    started: list[Simulated] = []
    try:
        for system in unconfigured(given):
            servers, settings, notes = DEMO_STARTERS[system.key](app.config, site_url)
            started.append(Simulated(system, servers, settings, notes))
            refuse_to_overwrite(system, settings, given)
    except BaseException:
        for simulated in started:
            simulated.stop()
        raise
    return started


def refuse_to_overwrite(system: RemoteSystem, settings: Mapping, given: Mapping) -> None:
    """A stand-in must not replace a configured value: name the clashing settings (never their values)."""
    clashing = sorted(key for key, value in settings.items() if key in given and given[key] != value)
    if clashing:
        why = f"{system.setting} is not {system.real_value!r}" if system.real_value else f"{system.setting} is not set"
        raise ConfigurationError(
            f"make run would simulate {system.label} ({why}) but {', '.join(clashing)} "
            f"{'is' if len(clashing) == 1 else 'are'} configured; set OXNACK_{system.setting}"
            f"{'=' + system.real_value if system.real_value else ''} to use the real one, or remove "
            f"{'it' if len(clashing) == 1 else 'them'}")
