"""Prices and limits of a VM order, from configuration only (no database, no Redis)."""
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from flask import current_app


@dataclass(frozen=True)
class Shape:
    """What a customer orders: cores, RAM in GB, disk in GB."""

    cores: int
    ram: int
    hdd: int


@dataclass(frozen=True)
class Quote:
    base: Decimal  # before the promo
    discount: int  # percent
    price: Decimal  # what is charged: base minus the discount, rounded down to whole units


# Every setting a quote reads (callers that keep quotes key them on these).
PRICE_SETTINGS = ("PR_CORE", "PR_RAM", "PR_HDD", "MIN_CORE", "MX_CORE", "MIN_RAM", "MX_RAM", "MIN_HDD", "MX_HDD")


def _setting(name: str) -> Decimal:
    return Decimal(str(current_app.config[name]))


def limits() -> dict[str, tuple[int, int]]:
    """(smallest, largest) per resource, as configured."""
    config = current_app.config
    return {"cores": (config["MIN_CORE"], config["MX_CORE"]), "ram": (config["MIN_RAM"], config["MX_RAM"]),
            "hdd": (config["MIN_HDD"], config["MX_HDD"])}


def within_limits(shape: Shape) -> bool:
    return all(low <= getattr(shape, name) <= high for name, (low, high) in limits().items())


def base_price(shape: Shape) -> Decimal:
    return shape.cores * _setting("PR_CORE") + shape.ram * _setting("PR_RAM") + shape.hdd * _setting("PR_HDD")


def apply_discount(amount: Decimal, percent: int) -> Decimal:
    """`amount` less `percent` %, rounded down to a whole unit as the legacy site showed it."""
    percent = min(max(int(percent or 0), 0), 100)
    return (amount * (100 - percent) / 100).to_integral_value(rounding=ROUND_FLOOR)


def quote(shape: Shape, discount: int = 0) -> Quote:
    """The price of `shape` with a promo discount in percent."""
    base = base_price(shape)
    discount = min(max(int(discount or 0), 0), 100)
    return Quote(base=base, discount=discount, price=apply_discount(base, discount))
