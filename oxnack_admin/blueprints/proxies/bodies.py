"""Strict reading of the proxy calls' query strings and bodies: exact types, a clear 400 for each fault."""
import re

from oxnack_admin.services.proxies import sync
from oxnack_admin.services.proxies.catalogue import MAX_PAGE_SIZE, TYPES
from oxnack_admin.services.proxies.purchase import MAX_KEY_LENGTH
from ...web.classic import ClassicError, whole_number

MAX_ID = 2 ** 31 - 1
MAX_PAGE = 1_000_000
COUNTRY = re.compile(r"^[A-Za-z]{2,3}$")
KEY = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII, as HTTP header values safely are


def listing_from(args) -> dict:
    """Filters and paging of /list; page_size above the cap is served capped, not refused."""
    page = _int_arg(args.get("page"), 0, "page")
    page_size = _int_arg(args.get("page_size"), 50, "page_size")
    if not 0 <= page <= MAX_PAGE:
        raise ClassicError(400, "bad page")
    if page_size < 1:
        raise ClassicError(400, "bad page_size")
    kind = (args.get("type") or "").strip().lower() or None
    if kind is not None and kind not in TYPES:
        raise ClassicError(400, f"bad type: use {', '.join(TYPES)}")
    country = (args.get("country_code") or "").strip() or None
    if country is not None and not COUNTRY.match(country):
        raise ClassicError(400, "bad country_code")
    city = (args.get("city") or "").strip()[:100] or None
    return {"country_code": country, "city": city, "kind": kind, "page": page,
            "page_size": min(page_size, MAX_PAGE_SIZE)}


def positive_id(body: dict | None, name: str) -> int:
    """A positive integer id from the body (a digit string is accepted too); else 400 "<name> required"."""
    value = (body or {}).get(name)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) < 12:
        value = int(value.strip())
    value = whole_number(value)
    if value is None or not 0 < value <= MAX_ID:
        raise ClassicError(400, f"{name} required")
    return value


def idempotency_key(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > MAX_KEY_LENGTH or not KEY.match(value):
        raise ClassicError(400, f"bad Idempotency-Key: up to {MAX_KEY_LENGTH} visible ASCII characters")
    return value


def sync_from(body: dict | None) -> tuple[str | None, int | None]:
    """(country_code, page_size) of the staff sync call; both optional."""
    if body is None:
        raise ClassicError(400, "body must be a JSON object")
    country = body.get("country_code")
    if country in (None, ""):
        country = None
    elif not isinstance(country, str) or not COUNTRY.match(country.strip()):
        raise ClassicError(400, "bad country_code")
    page_size = body.get("page_size")
    if page_size is not None:
        page_size = whole_number(page_size)
        if page_size is None or not sync.MIN_PAGE_SIZE <= page_size <= sync.MAX_PAGE_SIZE:
            raise ClassicError(400, f"bad page_size: {sync.MIN_PAGE_SIZE} to {sync.MAX_PAGE_SIZE}")
    return (country.strip().upper() if country else None), page_size


def _int_arg(raw: str | None, default: int, name: str) -> int:
    if raw is None or raw == "":
        return default
    raw = raw.strip()
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 9:
        raise ClassicError(400, f"bad {name}")
    return int(raw)
