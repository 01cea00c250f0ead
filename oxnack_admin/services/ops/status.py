"""GET /status and the console's System page: every dependency checked with a short timeout and its latency.

The checks are one registry (CHECKS): a name, when it applies (the system is configured) and a
probe. A probe gets the settings and the timeout, returns a short detail when the system is up
and raises when it is not. Remote probes run in parallel threads, so one dead system costs the
answer one timeout, not one per system. Adding a system is one line in CHECKS.
"""
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from flask import current_app

from oxnack_admin.services.ops import probes

log = logging.getLogger(__name__)

Probe = Callable[[Mapping, float], str]


@dataclass(frozen=True)
class Check:
    name: str  # the key in /status's "checks"
    applies: Callable[[Mapping], bool]  # configured? a system that is not is left out
    probe: Probe
    in_app: bool = False  # needs the app context (the database session): run in the request's thread


def always(config: Mapping) -> bool:
    return True


def setting(*names: str) -> Callable[[Mapping], bool]:
    """Applies when every one of these settings is non-empty."""
    return lambda config: all(config.get(name) for name in names)


CHECKS: list[Check] = [
    Check("database", always, probes.database, in_app=True),
    Check("redis", always, probes.redis),
    Check("queues", always, probes.queues),
    Check("scheduler", always, probes.scheduler),
    Check("proxmox", lambda c: bool(c.get("PROXMOX_URL") and (c.get("PROXMOX_TOKEN") or c.get("PROXMOX_PASSWORD"))),
          probes.http("PROXMOX_URL", "/api2/json/version", "PROXMOX_VERIFY_TLS")),
    Check("pfsense", setting("PFSENSE_URL", "PFSENSE_API_KEY"), probes.http("PFSENSE_URL", "/", "PFSENSE_VERIFY_TLS")),
    Check("platega", setting("PLATEGA_URL", "PLATEGA_MERCHANT_ID"), probes.http("PLATEGA_URL", "/")),
    Check("socks_upstream", setting("SOCKS_API_URL"), probes.http("SOCKS_API_URL", "/")),
    Check("telegram", setting("TELEGRAM_BOT_TOKEN"), probes.telegram),
    Check("crypto_rpc", setting("CRYPTO_RPC_URL"), probes.crypto_rpc),
    Check("smtp", setting("SMTP_HOST"), probes.smtp),
]


def report(checks: list[Check] | None = None) -> dict:
    """{"status": "ok"|"degraded", "checks": {name: {"ok", "latency_ms", "detail"}}}; never raises."""
    config = dict(current_app.config)
    timeout = float(config["STATUS_CHECK_TIMEOUT"])
    chosen = [check for check in (CHECKS if checks is None else checks) if check.applies(config)]
    results = {}
    remote = [check for check in chosen if not check.in_app]
    with ThreadPoolExecutor(max_workers=max(1, len(remote))) as pool:
        futures = {check.name: pool.submit(run, check, config, timeout) for check in remote}
        for check in chosen:
            if check.in_app:
                results[check.name] = run(check, config, timeout)
        for name, future in futures.items():
            results[name] = future.result()
    ordered = {check.name: results[check.name] for check in chosen}
    return {"status": "ok" if all(r["ok"] for r in ordered.values()) else "degraded", "checks": ordered}


def run(check: Check, config: Mapping, timeout: float) -> dict:
    started = time.perf_counter()
    try:
        detail, ok = check.probe(config, timeout), True
    except Exception as error:  # any failure is "down"; the detail names its kind, never a credential
        detail, ok = probes.describe(error), False
        log.warning("status: %s down: %s", check.name, detail)
    return {"ok": ok, "latency_ms": round((time.perf_counter() - started) * 1000, 1), "detail": detail}
