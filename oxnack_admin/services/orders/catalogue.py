"""What the rent page and the marketplace offer: countries, systems, prices and limits, market services."""
from flask import current_app
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import MarketService


def countries() -> list[str]:
    return list(current_app.config["COUNTRIES"])


def default_country() -> str | None:
    """Pool VMs without a country of their own are in the first configured one."""
    offered = current_app.config["COUNTRIES"]
    return offered[0] if offered else None


def operating_systems() -> list[str]:
    return list(current_app.config["OS_TEMPLATES"])


PARAMETER_SETTINGS = ("PR_RAM", "PR_HDD", "PR_CORE", "PR_IP", "MX_RAM", "MX_CORE", "MX_HDD", "MIN_RAM", "MIN_CORE",
                      "MIN_HDD")


def parameters() -> dict[str, int]:
    """Unit prices and limits under the legacy /parametrs names."""
    config = current_app.config
    return {"pr_ram": config["PR_RAM"], "pr_hdd": config["PR_HDD"], "pr_core": config["PR_CORE"],
            "pr_ip": config["PR_IP"], "mx_ram": config["MX_RAM"], "mx_core": config["MX_CORE"],
            "mx_hdd": config["MX_HDD"], "min_ram": config["MIN_RAM"], "min_core": config["MIN_CORE"],
            "min_hdd": config["MIN_HDD"]}


def enabled_market_services() -> list[MarketService]:
    """Market services shown on the marketplace page, in id order."""
    return list(db.session.scalars(select(MarketService).where(MarketService.enabled.is_(True))
                                   .order_by(MarketService.id)))
