"""Platega payment gateway client: create a transaction, read its status. One place for the wire format.

Every call carries `X-MerchantId` and `X-Secret`. Transient failures (connect errors, timeouts,
5xx, 429) are retried a few times with backoff; whatever remains becomes a RemoteError whose
message is short and safe to show staff (never the secret).
"""
import logging
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

import requests

from .errors import PermanentRemoteError, RemoteError, TransientRemoteError, error_for_status, short, transport_error

log = logging.getLogger(__name__)

SYSTEM = "Platega"
PROCESS = "/transaction/process"
CURRENCY = "RUB"
# Statuses a transaction can have; older gateways also say EXPIRED and FAILED.
PENDING, CONFIRMED, CANCELED, CHARGEBACKED = "PENDING", "CONFIRMED", "CANCELED", "CHARGEBACKED"
CLOSED = {CANCELED, "EXPIRED", "FAILED"}
KNOWN_STATUSES = {PENDING, CONFIRMED, CHARGEBACKED, *CLOSED}
MAX_ID_LENGTH = 200


class GatewayUnknownTransaction(PermanentRemoteError):
    """Platega does not know this transaction id (404)."""


@dataclass(frozen=True)
class CreatedTransaction:
    """Platega's answer to a new transaction: where to send the payer."""

    id: str
    redirect: str
    status: str
    expires_in: str | None
    answer: dict


@dataclass(frozen=True)
class GatewayTransaction:
    """A transaction as Platega reports it now."""

    id: str
    status: str
    amount: Decimal | None
    currency: str | None
    payload: str | None
    answer: dict


class PlategaClient:
    def __init__(self, url: str, merchant_id: str, secret: str, *, timeout: float = 8, retries: int = 2,
                 backoff: float = 0.3):
        if not url.startswith(("http://", "https://")):
            raise ValueError("Platega URL must start with http:// or https://")
        self.url = url.rstrip("/")
        self.timeout, self.retries, self.backoff = timeout, max(int(retries), 0), max(float(backoff), 0.0)
        self._session = requests.Session()
        self._session.headers.update({"X-MerchantId": merchant_id, "X-Secret": secret,
                                      "Accept": "application/json"})

    @classmethod
    def from_config(cls, config, *, timeout: float | None = None, retries: int | None = None) -> "PlategaClient":
        """The client for this app's settings; refuses to exist without merchant credentials."""
        if not config.get("PLATEGA_MERCHANT_ID") or not config.get("PLATEGA_SECRET"):
            raise PermanentRemoteError("Platega is not configured (PLATEGA_MERCHANT_ID / PLATEGA_SECRET are empty)")
        return cls(config["PLATEGA_URL"], config["PLATEGA_MERCHANT_ID"], config["PLATEGA_SECRET"],
                   timeout=config["PLATEGA_TIMEOUT"] if timeout is None else timeout,
                   retries=config["PLATEGA_RETRIES"] if retries is None else retries,
                   backoff=config["PLATEGA_RETRY_BACKOFF"])

    def __repr__(self) -> str:
        return f"PlategaClient({self.url!r})"

    def create_transaction(self, amount: int, *, description: str, return_url: str, failed_url: str,
                           payload: str, method: int = 2) -> CreatedTransaction:
        """Open a payment of `amount` roubles; `payload` (our invoice reference) comes back in every status."""
        body = {"paymentMethod": method, "paymentDetails": {"amount": amount, "currency": CURRENCY},
                "description": description, "return": return_url, "failedUrl": failed_url, "payload": payload}
        answer = self._request("POST", PROCESS, "create a transaction", json=body)
        transaction_id, redirect = answer.get("transactionId"), answer.get("redirect")
        if not _usable_id(transaction_id) or not isinstance(redirect, str) or not redirect.startswith("http"):
            raise PermanentRemoteError("Platega answered without a transactionId and redirect")
        return CreatedTransaction(str(transaction_id), redirect, str(answer.get("status") or PENDING),
                                  answer.get("expiresIn"), answer)

    def get_transaction(self, transaction_id: str) -> GatewayTransaction:
        """The transaction's current status and amount; GatewayUnknownTransaction if Platega has no such id."""
        if not _usable_id(transaction_id):
            raise PermanentRemoteError("not a Platega transaction id")
        answer = self._request("GET", f"/transaction/{quote(str(transaction_id), safe='')}", "read a transaction")
        status = answer.get("status")
        if not isinstance(status, str) or status.upper() not in KNOWN_STATUSES:
            raise PermanentRemoteError(f"Platega answered an unknown status {short(status, 40)!r}")
        details = answer.get("paymentDetails") if isinstance(answer.get("paymentDetails"), dict) else {}
        payload = answer.get("payload")
        return GatewayTransaction(str(answer.get("id") or transaction_id), status.upper(), _amount(details.get("amount")),
                                  details.get("currency") if isinstance(details.get("currency"), str) else None,
                                  payload if isinstance(payload, str) else None, answer)

    # --- plumbing ----------------------------------------------------------------------------

    def _request(self, method: str, path: str, what: str, **kwargs) -> dict:
        """One call with retries of transient failures; the JSON object answered, or a RemoteError."""
        attempt = 0
        while True:
            try:
                return self._once(method, path, what, **kwargs)
            except TransientRemoteError as error:
                if attempt >= self.retries:
                    raise
                delay = self.backoff * (2 ** attempt)
                attempt += 1
                log.info("Platega: %s; try %s of %s in %.1f s", error.message, attempt + 1, self.retries + 1, delay)
                time.sleep(delay)

    def _once(self, method: str, path: str, what: str, **kwargs) -> dict:
        url = self.url + path
        try:
            response = self._session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.exceptions.RequestException as exc:
            raise transport_error(exc, SYSTEM, self.url, what) from None
        if response.status_code == 404 and method == "GET":
            raise GatewayUnknownTransaction(f"Platega does not know this transaction ({what})")
        if response.status_code >= 400:
            raise error_for_status(response.status_code,
                                   f"Platega answered {response.status_code} ({what}): {_reason(response)}")
        try:
            answer = response.json()
        except ValueError:
            raise TransientRemoteError(f"Platega answered something that is not JSON ({what})") from None
        if not isinstance(answer, dict):
            raise PermanentRemoteError(f"Platega answered a JSON {type(answer).__name__}, not an object ({what})")
        return answer


def _usable_id(value) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool) and 0 < len(str(value)) <= MAX_ID_LENGTH \
        and str(value).isprintable()


def _amount(value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _reason(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return short(response.text or response.reason or "no details", 160)
    if isinstance(body, dict):
        for key in ("message", "error", "title", "detail"):
            if body.get(key):
                return short(body[key], 160)
    return short(body, 160)


__all__ = ["PlategaClient", "CreatedTransaction", "GatewayTransaction", "GatewayUnknownTransaction", "RemoteError",
           "PENDING", "CONFIRMED", "CANCELED", "CHARGEBACKED", "CLOSED"]
