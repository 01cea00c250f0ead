"""The SOCKS5 proxy upstream's API: listing, buying, looking up, refunding, and what we bought.

Every call carries `Authorization: <token>` (the raw token, no scheme). Reads are retried on
transient failures; a buy or a refund moves money at the upstream, so it is retried only when
the request surely never arrived (the connection could not be made): a timeout after sending
leaves its outcome unknown, and the caller settles that from the bought list.
"""
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

import requests
from urllib3.exceptions import NewConnectionError

from .errors import PermanentRemoteError, TransientRemoteError, short

log = logging.getLogger(__name__)
SYSTEM = "the proxy upstream"


class UpstreamError(PermanentRemoteError):
    """The upstream answered with a refusal (a 4xx, or a 5xx the caller must not retry)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class UpstreamBalanceTooLow(UpstreamError):
    """403 on a buy: our own balance at the upstream does not cover the proxy."""


class ProxyServerFailed(UpstreamError):
    """503 on a buy: the proxy's server failed; the proxy was not sold."""


class ProxyGone(UpstreamError):
    """404: the upstream no longer has this proxy."""


class NotRefundable(UpstreamError):
    """400 on a refund: the upstream will not refund these credentials."""


class UnreadablePurchase(UpstreamError):
    """A buy answered 2xx with a body we cannot read: it may have been bought."""


class UpstreamUnavailable(TransientRemoteError):
    """No usable answer: connection refused, timeout, 5xx. `sent` says whether the request may have arrived."""

    def __init__(self, message: str, sent: bool = True):
        super().__init__(message)
        self.sent = sent


@dataclass(frozen=True)
class ProxyPage:
    proxies: list[dict]
    total: int | None  # the upstream's own count; unreliable, never used to stop paging


@dataclass(frozen=True)
class Purchase:
    """What a buy answers; `password` is a secret (never logged, see __repr__)."""

    credentials_id: str
    proxy_id: int
    proxy_ip: str | None
    server_ip: str | None
    server_port: int | None
    username: str | None
    password: str | None
    price: Decimal | None
    expires_at: datetime | None
    refundable: bool

    def __repr__(self) -> str:
        return f"Purchase(credentials_id={self.credentials_id!r}, proxy_id={self.proxy_id})"

    @classmethod
    def from_wire(cls, body) -> "Purchase":
        if not isinstance(body, dict) or body.get("credentials_id") in (None, "") or body.get("proxy_id") is None:
            raise UnreadablePurchase(f"{SYSTEM} sent a purchase we cannot read")
        try:
            proxy_id = int(body["proxy_id"])
            port = int(body["server_listening_port"]) if body.get("server_listening_port") not in (None, "") else None
        except (TypeError, ValueError):
            raise UnreadablePurchase(f"{SYSTEM} sent a purchase we cannot read") from None
        return cls(credentials_id=str(body["credentials_id"]), proxy_id=proxy_id, proxy_ip=_text(body.get("proxy_ip")),
                   server_ip=_text(body.get("server_ip")), server_port=port, username=_text(body.get("username")),
                   password=_text(body.get("password")), price=_decimal(body.get("price")),
                   expires_at=parse_time(body.get("expiration_time")), refundable=bool(body.get("refundable", True)))


class SocksUpstreamClient:
    """One small class per wire format: every upstream call the proxy resale makes."""

    def __init__(self, url: str, token: str, timeout: float = 30, retries: int = 2, backoff: float = 0.2):
        if not url.startswith(("http://", "https://")):
            raise ValueError("SOCKS_API_URL must start with http:// or https://")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self._session = requests.Session()
        self._session.headers.update({"Authorization": token, "Accept": "application/json"})

    def __repr__(self) -> str:  # never the token
        return f"SocksUpstreamClient({self.url!r})"

    # --- the calls -------------------------------------------------------------------------

    def list_proxies(self, page: int = 0, page_size: int = 50, *, status: int | None = 1, country_code: str | None = None,
                     city: str | None = None, region: str | None = None, zip_code: str | None = None,
                     isp: str | None = None, residential: bool = True, mobile: bool = True,
                     hosting: bool = True) -> ProxyPage:
        """One page of the listing (online proxies by default)."""
        params = {"page": page, "page_size": page_size, "residential": _flag(residential), "mobile": _flag(mobile),
                  "hosting": _flag(hosting)}
        if status is not None:
            params["status"] = status
        optional = {"country_code": country_code, "city": city, "region": region, "zip": zip_code, "isp": isp}
        params.update({key: value for key, value in optional.items() if value})
        body = self._call("GET", "/proxy", "list proxies", params=params)
        if not isinstance(body, dict) or not isinstance(body.get("proxies"), list):
            raise UpstreamError(f"{SYSTEM} sent a proxy list we cannot read")
        total = body.get("total")
        return ProxyPage([p for p in body["proxies"] if isinstance(p, dict)],
                         total if isinstance(total, int) and not isinstance(total, bool) else None)

    def buy(self, proxy_id: int) -> Purchase:
        """Buy one proxy. Raises UpstreamBalanceTooLow (403), ProxyServerFailed (503), ProxyGone (404)."""
        body = self._call("GET", "/proxy/buy", f"buy proxy {proxy_id}", params={"proxy_id": proxy_id},
                          moves_money=True, refusals={403: UpstreamBalanceTooLow, 503: ProxyServerFailed,
                                                      404: ProxyGone})
        return Purchase.from_wire(body)

    def lookup(self, proxy_id: int) -> dict:
        """The proxy's current record (`status` 1 online, 0 offline). Raises ProxyGone (404)."""
        body = self._call("GET", "/proxy/lookup", f"look up proxy {proxy_id}", params={"proxy_id": proxy_id},
                          refusals={404: ProxyGone})
        if isinstance(body, dict) and isinstance(body.get("proxy"), dict):
            body = body["proxy"]
        if not isinstance(body, dict):
            raise UpstreamError(f"{SYSTEM} sent a proxy record we cannot read")
        return body

    def check_refundable(self, credentials_id: str) -> tuple[bool, str]:
        """(refundable, the upstream's message) for these credentials."""
        body = self._call("POST", "/proxy/check-refundable", "check a refund", json={"credentials_id": credentials_id})
        if not isinstance(body, dict) or not isinstance(body.get("refundable"), bool):
            raise UpstreamError(f"{SYSTEM} sent a refund check we cannot read")
        return body["refundable"], short(body.get("message") or "", 200)

    def refund(self, credentials_id: str) -> None:
        """Refund these credentials at the upstream. Raises NotRefundable (400)."""
        self._call("POST", "/proxy/refund", "refund a proxy", json={"credentials_id": credentials_id},
                   moves_money=True, refusals={400: NotRefundable})

    def bought(self, page: int = 0, page_size: int = 100) -> list[dict]:
        """One page of the proxies we bought, with their credentials."""
        body = self._call("GET", "/proxy/bought", "list bought proxies", params={"page": page, "page_size": page_size})
        items = body.get("proxies") if isinstance(body, dict) else body
        if not isinstance(items, list):
            raise UpstreamError(f"{SYSTEM} sent a bought list we cannot read")
        return [item for item in items if isinstance(item, dict)]

    def all_bought(self, page_size: int = 100, max_pages: int = 1000) -> list[dict]:
        """Every page of the bought list, until a short page."""
        found = []
        for page in range(max_pages):
            items = self.bought(page, page_size)
            found.extend(items)
            if len(items) < page_size:
                return found
        raise UpstreamError(f"{SYSTEM} bought list did not end after {max_pages} pages")

    # --- plumbing --------------------------------------------------------------------------

    def _call(self, method: str, path: str, what: str, *, params=None, json=None, moves_money: bool = False,
              refusals: dict | None = None):
        attempt = 0
        while True:
            try:
                return self._once(method, path, what, params, json, refusals or {})
            except UpstreamUnavailable as exc:
                # A call that moves money is repeated only if the first never reached the upstream.
                if attempt >= self.retries or (moves_money and exc.sent):
                    raise
                attempt += 1
                log.info("proxy upstream: %s failed (%s), try %d of %d", what, exc.message, attempt + 1,
                         self.retries + 1)
                time.sleep(self.backoff * attempt)

    def _once(self, method, path, what, params, json, refusals):
        try:
            response = self._session.request(method, self.url + path, params=params, json=json, timeout=self.timeout)
        except requests.exceptions.ConnectTimeout as exc:
            raise UpstreamUnavailable(f"{SYSTEM} could not be reached in time ({what})", sent=False) from exc
        except requests.exceptions.Timeout as exc:
            raise UpstreamUnavailable(f"{SYSTEM} did not answer in time ({what})") from exc
        except requests.exceptions.SSLError as exc:
            raise UpstreamError(f"{SYSTEM} TLS certificate was not accepted ({what})") from exc
        except requests.exceptions.ConnectionError as exc:
            # Refused: no connection, nothing sent. Reset or closed mid-answer: it may have arrived.
            raise UpstreamUnavailable(f"cannot reach {SYSTEM} ({what})", sent=not _never_connected(exc)) from exc
        except requests.exceptions.RequestException as exc:
            raise UpstreamUnavailable(f"{SYSTEM} request failed ({what}): {type(exc).__name__}") from exc
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if status < 400:
            return body
        detail = short(_message_of(body) or response.reason or "", 160)
        message = f"{SYSTEM} refused to {what}: HTTP {status} {detail}".rstrip()
        if status in refusals:
            raise refusals[status](message, status)
        if status >= 500 or status in (408, 429):
            raise UpstreamUnavailable(message)
        if status in (401, 403):
            raise UpstreamError(f"{SYSTEM} rejected our token ({what}): HTTP {status}", status)
        raise UpstreamError(message, status)


def parse_time(value) -> datetime | None:
    """An ISO 8601 time or a Unix timestamp from the upstream, as an aware UTC datetime."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, timezone.utc)
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def _message_of(body) -> str | None:
    if isinstance(body, dict):
        for key in ("message", "detail", "error"):
            if isinstance(body.get(key), str):
                return body[key]
    return None


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _text(value) -> str | None:
    return None if value is None else str(value)


def _decimal(value) -> Decimal | None:
    try:
        return None if value is None or isinstance(value, bool) else Decimal(str(value))
    except InvalidOperation:
        return None
