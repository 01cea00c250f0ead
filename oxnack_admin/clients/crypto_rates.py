"""The rate source: GET CRYPTO_RATE_URL -> {"USDT": 92.5, "BNB": 61000.0}, roubles per unit."""
from decimal import Decimal, InvalidOperation

import requests

from .errors import PermanentRemoteError, TransientRemoteError, error_for_status, short, transport_error

SYSTEM = "the rate source"
ASSETS = ("USDT", "BNB")


def current_rates(url: str, timeout: float) -> tuple[dict[str, Decimal], dict]:
    """Roubles per unit of each asset, and the answer as given; a RemoteError if any rate is missing or absurd."""
    if not url:
        raise PermanentRemoteError("CRYPTO_RATE_URL is empty")
    try:
        response = requests.get(url, timeout=timeout, headers={"Accept": "application/json"})
    except requests.exceptions.RequestException as exc:
        raise transport_error(exc, SYSTEM, "CRYPTO_RATE_URL", "read rates") from None
    if response.status_code >= 400:
        raise error_for_status(response.status_code, f"{SYSTEM} answered HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        raise TransientRemoteError(f"{SYSTEM} answered something that is not JSON") from None
    if not isinstance(answer, dict):
        raise PermanentRemoteError(f"{SYSTEM} answered something that is not a JSON object")
    rates = {}
    for asset in ASSETS:
        value = answer.get(asset)
        try:
            rate = Decimal(str(value)) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
        except InvalidOperation:
            rate = None
        if rate is None or not rate.is_finite() or not Decimal("0.000001") <= rate <= Decimal("1e9"):
            raise PermanentRemoteError(f"{SYSTEM} gave no usable {asset} rate ({short(value, 30)!r})")
        rates[asset] = rate
    return rates, answer
