"""A stand-in for the SOCKS5 proxy upstream: a few hundred proxies that go offline now and then.

It speaks the wire format of the contract's *Proxies* section under `/api/v1/authorized`:
listing with filters and paging (its `total` counts pages, as the real one has been seen to),
buy (403 our balance, 503 the proxy's server, 404 gone), lookup, check-refundable, refund and
the bought list. Faults come from the base class (`fail_next`, `delay_next`); a delayed buy
still happens after the client gave up, as on a real server. `break_next_buy` loses a buy's
answer (an error page, a hang, a reset) with or without the proxy sold.
"""
import random
import secrets
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from . import LoopbackSimulator, Reply

BASE = "/api/v1/authorized"
# (country, code, [(city, region, region_name)], ISPs)
COUNTRIES = [
    ("United States", "US", [("New York", "NY", "New York"), ("Dallas", "TX", "Texas"),
                             ("Los Angeles", "CA", "California")], ["AT&T", "Comcast", "Verizon"]),
    ("Germany", "DE", [("Berlin", "BE", "Berlin"), ("Munich", "BY", "Bavaria")], ["Deutsche Telekom", "Vodafone"]),
    ("United Kingdom", "GB", [("London", "ENG", "England"), ("Leeds", "ENG", "England")], ["BT", "Virgin Media"]),
    ("France", "FR", [("Paris", "IDF", "Ile-de-France"), ("Lyon", "ARA", "Auvergne-Rhone-Alpes")], ["Orange", "Free"]),
    ("Netherlands", "NL", [("Amsterdam", "NH", "North Holland")], ["KPN", "Ziggo"]),
    ("Japan", "JP", [("Tokyo", "13", "Tokyo"), ("Osaka", "27", "Osaka")], ["NTT", "SoftBank"]),
    ("Brazil", "BR", [("Sao Paulo", "SP", "Sao Paulo")], ["Claro", "Vivo"]),
]
BROKEN_ANSWERS = ("500", "hang", "reset")
CONTINENTS = {"US": ("North America", "NA"), "BR": ("South America", "SA"), "JP": ("Asia", "AS")}


class SocksUpstreamSimulator(LoopbackSimulator):
    """Serve a fake proxy upstream; drive and inspect it through the methods below."""

    def __init__(self, token: str = "simulator-socks-token", host: str = "127.0.0.1", port: int = 0, *,
                 balance: Decimal | int = Decimal(1000), price: Decimal | str = Decimal("1.20"),
                 total_counts_pages: bool = True, hours: int = 24):
        super().__init__(host, port)
        self.token = token
        self.balance = Decimal(balance)  # ours at the upstream; a buy that would overdraw it is 403
        self.price = Decimal(price)
        self.total_counts_pages = total_counts_pages
        self.hours = hours
        self._proxies: dict[int, dict] = {}
        self._bought: dict[str, dict] = {}  # credentials_id -> purchase (with `refunded`)
        self._next_id = 100001
        self._churn: threading.Event | None = None
        self._page_failures: dict[int, list[int]] = {}  # listing page -> [status, times left]
        self._broken_buys: list[tuple[str, bool, float]] = []  # (how, sold first, hang seconds)
        self._routes = {
            ("GET", BASE + "/proxy"): self._list,
            ("GET", BASE + "/proxy/buy"): self._buy,
            ("GET", BASE + "/proxy/lookup"): self._lookup,
            ("POST", BASE + "/proxy/check-refundable"): self._check_refundable,
            ("POST", BASE + "/proxy/refund"): self._refund,
            ("GET", BASE + "/proxy/bought"): self._bought_list,
        }

    @property
    def api_url(self) -> str:
        """What SOCKS_API_URL should be."""
        return self.url + BASE

    # --- state for tests and the demo ------------------------------------------------------

    def add_proxy(self, country_code: str = "US", *, status: int = 1, mobile: bool = False, hosting: bool = False,
                  city: str | None = None, isp: str | None = None, proxy_id: int | None = None, **fields) -> dict:
        """One more proxy in the listing; returns its record."""
        country = next((c for c in COUNTRIES if c[1] == country_code), (country_code, country_code,
                                                                         [("Capital", "C", "Central")], ["Local ISP"]))
        with self._lock:
            proxy_id = proxy_id or self._next_id
            self._next_id = max(self._next_id, proxy_id) + 1
            place = country[2][proxy_id % len(country[2])]
            continent = CONTINENTS.get(country_code, ("Europe", "EU"))
            record = {
                "proxy_id": proxy_id, "proxy_ip": f"{(proxy_id >> 16) % 200 + 11}.{(proxy_id >> 8) % 256}.{proxy_id % 256}.7",
                "country": country[0], "country_code": country_code, "city": city or place[0], "region": place[1],
                "region_name": place[2], "zip": f"{proxy_id % 90000 + 10000}", "isp": isp or country[3][proxy_id % len(country[3])],
                "org": "Residential line", "speed": round(5 + (proxy_id * 7919) % 950 / 10, 1), "lat": 40.0, "lon": -3.0,
                "mobile": mobile, "hosting": hosting, "status": status, "as_name": f"AS{proxy_id % 65000}",
                "continent": continent[0], "continent_code": continent[1], **fields,
            }
            self._proxies[proxy_id] = record
            return dict(record)

    def seed(self, count: int = 300, rng: random.Random | None = None) -> None:
        """`count` proxies spread over every country, a tenth offline, some mobile or hosting."""
        rng = rng or random.Random(7002)
        for number in range(count):
            country = COUNTRIES[number % len(COUNTRIES)][1]
            kind = rng.random()
            self.add_proxy(country, status=0 if rng.random() < 0.1 else 1, mobile=kind < 0.15,
                           hosting=0.15 <= kind < 0.3)

    def set_status(self, proxy_id: int, status: int) -> None:
        with self._lock:
            self._proxies[proxy_id]["status"] = status

    def update_proxy(self, proxy_id: int, **fields) -> None:
        with self._lock:
            self._proxies[proxy_id].update(fields)

    def remove_proxy(self, proxy_id: int) -> None:
        """The upstream drops a proxy: gone from the listing, 404 on buy and lookup."""
        with self._lock:
            self._proxies.pop(proxy_id, None)

    def proxy(self, proxy_id: int) -> dict | None:
        with self._lock:
            found = self._proxies.get(proxy_id)
            return dict(found) if found else None

    def purchases(self, include_refunded: bool = True) -> list[dict]:
        """Every purchase made at this upstream (with `refunded`)."""
        with self._lock:
            return [dict(p) for p in self._bought.values() if include_refunded or not p["refunded"]]

    def fail_listing_page(self, page: int, status: int = 502, times: int = 1) -> None:
        """Answer the next `times` requests for this listing page with `status` (an outage mid-sync)."""
        with self._lock:
            self._page_failures[page] = [status, times]

    def break_next_buy(self, how: str, *, bought: bool, seconds: float = 2.0) -> None:
        """Lose the next buy's answer: "500" (an error page), "hang" (no answer for `seconds`) or "reset".

        With `bought` the proxy is sold first (it shows in the bought list), as when a real
        upstream fails after doing the work; without, nothing is sold.
        """
        if how not in BROKEN_ANSWERS:
            raise ValueError(f"how must be one of {', '.join(BROKEN_ANSWERS)}")
        with self._lock:
            self._broken_buys.append((how, bought, seconds))

    def start_churn(self, every_seconds: float = 20.0, share: float = 0.03, seed: int = 7) -> None:
        """For the demo: every few seconds a few proxies go offline and some come back."""
        stop = self._churn = threading.Event()
        rng = random.Random(seed)

        def churn():
            while not stop.wait(every_seconds):
                with self._lock:
                    for record in self._proxies.values():
                        if rng.random() < share:
                            record["status"] = 1 - int(record["status"])

        threading.Thread(target=churn, name="socks-churn", daemon=True).start()

    def stop(self) -> None:
        if self._churn is not None:
            self._churn.set()
        super().stop()

    # --- the API ---------------------------------------------------------------------------

    def route(self, method: str, path: str, params: dict, headers) -> Reply:
        if headers.get("Authorization") != self.token:
            return self.error_reply(401, "invalid token")
        handler = self._routes.get((method, path.rstrip("/")))
        if handler is None:
            return self.error_reply(404, "not found")
        with self._lock:
            return handler(params)

    def _list(self, params: dict) -> Reply:
        try:
            page, size = int(params.get("page", 0)), int(params.get("page_size", 50))
        except ValueError:
            return self.error_reply(422, "page and page_size must be integers")
        if page < 0 or not 1 <= size <= 1000:
            return self.error_reply(422, "page or page_size out of range")
        failure = self._page_failures.get(page)
        if failure:
            failure[1] -= 1
            if failure[1] <= 0:
                del self._page_failures[page]
            return self.error_reply(failure[0], "injected failure")
        kinds = {kind for kind in ("residential", "mobile", "hosting") if params.get(kind, "true") == "true"}
        sold = {p["proxy_id"] for p in self._bought.values() if not p["refunded"]}
        matches = [dict(r) for r in sorted(self._proxies.values(), key=lambda r: r["proxy_id"])
                   if r["proxy_id"] not in sold and _kind(r) in kinds and _matches(r, params)]
        chunk = matches[page * size:(page + 1) * size]
        total = -(-len(matches) // size) if self.total_counts_pages else len(matches)
        return Reply(200, {"proxies": chunk, "total": total})

    def _buy(self, params: dict) -> Reply:
        broken = self._broken_buys.pop(0) if self._broken_buys else None
        if broken is not None and not broken[1]:
            return self._lost(broken, self.error_reply(500, "internal server error"))
        reply = self._sell(params)
        return reply if broken is None or reply.status != 200 else self._lost(broken, reply)

    def _lost(self, broken: tuple[str, bool, float], reply: Reply) -> Reply:
        how, _, seconds = broken
        if how == "500":
            return self.error_reply(500, "internal server error")
        return Reply(reply.status, reply.body, reply.reason, hang=seconds if how == "hang" else 0.0,
                     reset=how == "reset")

    def _sell(self, params: dict) -> Reply:
        record = self._record(params.get("proxy_id"))
        sold = {p["proxy_id"] for p in self._bought.values() if not p["refunded"]}
        if record is None or record["proxy_id"] in sold:
            return self.error_reply(404, "proxy not found")
        if record["status"] != 1:
            return self.error_reply(503, "proxy server failed")
        if self.balance < self.price:
            return self.error_reply(403, "insufficient balance")
        self.balance -= self.price
        credentials_id = f"cr_{secrets.token_hex(8)}"
        purchase = {
            "credentials_id": credentials_id, "proxy_id": record["proxy_id"], "proxy_ip": record["proxy_ip"],
            "server_ip": "198.51.100.10", "server_listening_port": 20000 + record["proxy_id"] % 40000,
            "username": f"u{secrets.token_hex(4)}", "password": secrets.token_urlsafe(12), "price": float(self.price),
            "expiration_time": (datetime.now(timezone.utc) + timedelta(hours=self.hours)).isoformat(),
            "refundable": True, "refunded": False,
        }
        self._bought[credentials_id] = purchase
        return Reply(200, {k: v for k, v in purchase.items() if k != "refunded"})

    def _lookup(self, params: dict) -> Reply:
        record = self._record(params.get("proxy_id"))
        if record is None:
            return self.error_reply(404, "proxy not found")
        return Reply(200, dict(record))

    def _check_refundable(self, params: dict) -> Reply:
        purchase = self._bought.get(str(params.get("credentials_id")))
        if purchase is None:
            return self.error_reply(404, "credentials not found")
        refundable, message = self._refundability(purchase)
        return Reply(200, {"refundable": refundable, "message": message})

    def _refund(self, params: dict) -> Reply:
        purchase = self._bought.get(str(params.get("credentials_id")))
        if purchase is None:
            return self.error_reply(404, "credentials not found")
        refundable, message = self._refundability(purchase)
        if not refundable:
            return self.error_reply(400, message)
        purchase["refunded"] = True
        self.balance += Decimal(str(purchase["price"]))
        return Reply(200, {"status": "success", "message": "refunded"})

    def _bought_list(self, params: dict) -> Reply:
        try:
            page, size = int(params.get("page", 0)), int(params.get("page_size", 50))
        except ValueError:
            return self.error_reply(422, "page and page_size must be integers")
        items = [{k: v for k, v in p.items()} for p in self._bought.values()]
        return Reply(200, {"proxies": items[page * size:(page + 1) * size], "total": len(items)})

    def _refundability(self, purchase: dict) -> tuple[bool, str]:
        if purchase["refunded"]:
            return False, "already refunded"
        record = self._proxies.get(purchase["proxy_id"])
        if record is not None and record["status"] == 1:
            return False, "proxy is online"
        return True, "proxy is offline"

    def _record(self, raw) -> dict | None:
        try:
            return self._proxies.get(int(raw))
        except (TypeError, ValueError):
            return None


def _kind(record: dict) -> str:
    return "mobile" if record["mobile"] else "hosting" if record["hosting"] else "residential"


def _matches(record: dict, params: dict) -> bool:
    if params.get("status") not in (None, "") and str(record["status"]) != str(params["status"]):
        return False
    for name, field in (("country_code", "country_code"), ("city", "city"), ("region", "region"), ("zip", "zip"),
                        ("isp", "isp")):
        wanted = params.get(name)
        if wanted and str(record.get(field, "")).lower() != wanted.lower():
            return False
    return True
