"""The configured upstream client and the price, in one place for sync, purchase, refund and settling."""
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app

from oxnack_admin.clients.socks_upstream import SocksUpstreamClient, UpstreamError

KOPECK = Decimal("0.01")


class ResaleOff(UpstreamError):
    """SOCKS_API_URL is empty: there is no upstream to buy from."""


def client() -> SocksUpstreamClient:
    """A client on SOCKS_API_URL with the configured token, timeout and retries."""
    config = current_app.config
    if not config.get("SOCKS_API_URL"):
        raise ResaleOff("proxy resale is not configured (SOCKS_API_URL is empty)")
    return SocksUpstreamClient(config["SOCKS_API_URL"], config.get("SOCKS_API_TOKEN") or "",
                               timeout=float(config["SOCKS_API_TIMEOUT"]), retries=int(config.get("SOCKS_API_RETRIES", 2)))


def price_usd() -> Decimal:
    return Decimal(str(current_app.config["SOCKS_PRICE"])).quantize(KOPECK, ROUND_HALF_UP)


def price_rub() -> Decimal:
    """What a purchase debits: SOCKS_PRICE x USD_RUB_RATE, rounded to kopecks."""
    rate = Decimal(str(current_app.config["USD_RUB_RATE"]))
    return (Decimal(str(current_app.config["SOCKS_PRICE"])) * rate).quantize(KOPECK, ROUND_HALF_UP)
