"""The soak's own Platega and proxy-upstream stand-ins, speaking the wire formats of the contract.

The harness drives them (marks invoices paid, sends and repeats callbacks, takes proxies
offline), so they are kept beside it; the real clients of the app talk to them over HTTP.
"""
import itertools
import secrets
import threading
import uuid

from oxnack_admin.simulator import LoopbackSimulator, Reply

SOCKS_PREFIX = "/api/v1/authorized"


class PlategaFake(LoopbackSimulator):
    """POST /transaction/process, GET /transaction/<id>; `pay()` confirms what a customer paid."""

    def __init__(self, host: str, merchant_id: str, secret: str):
        super().__init__(host, 0)
        self.merchant_id, self.secret = merchant_id, secret
        self.invoices: dict[str, dict] = {}

    def route(self, method, path, params, headers) -> Reply:
        if headers.get("X-MerchantId") != self.merchant_id or headers.get("X-Secret") != self.secret:
            return Reply(401, {"message": "unauthorized"})
        if method == "POST" and path == "/transaction/process":
            details = params.get("paymentDetails") or {}
            tid = str(uuid.uuid4())
            with self._lock:
                self.invoices[tid] = {"id": tid, "status": "PENDING", "payload": params.get("payload"),
                                      "paymentMethod": params.get("paymentMethod", 2),
                                      "paymentDetails": {"amount": details.get("amount"),
                                                         "currency": details.get("currency", "RUB")}}
            return Reply(200, {"transactionId": tid, "redirect": f"{self.url}/pay/{tid}", "status": "PENDING",
                               "expiresIn": "00:15:00"})
        if method == "GET" and path.startswith("/transaction/"):
            with self._lock:
                invoice = self.invoices.get(path.rsplit("/", 1)[1])
            return Reply(200, dict(invoice)) if invoice else Reply(404, {"message": "not found"})
        return Reply(404, {"message": "not found"})

    def pay(self, tid: str) -> dict | None:
        """Mark an invoice CONFIRMED; the callback body Platega would send, or None if unknown."""
        with self._lock:
            invoice = self.invoices.get(tid)
            if invoice is None:
                return None
            invoice["status"] = "CONFIRMED"
            return {"id": tid, "amount": invoice["paymentDetails"]["amount"], "currency": "RUB",
                    "status": "CONFIRMED", "paymentMethod": invoice["paymentMethod"], "payload": invoice["payload"]}


class ProxyUpstreamFake(LoopbackSimulator):
    """The SOCKS5 upstream: list, buy (each proxy once), lookup, check-refundable, refund, bought."""

    def __init__(self, host: str, token: str, proxies: int = 400, seed: int = 0):
        super().__init__(host, 0)
        self.token = token
        self._ids = itertools.count(1)
        self.proxies: dict[int, dict] = {}
        self.bought: dict[str, dict] = {}  # credentials_id -> purchase
        self.sold_twice = 0
        countries = [("RU", "Russia", "Moscow"), ("DE", "Germany", "Berlin"), ("US", "United States", "Dallas")]
        for index in range(proxies):
            pid = 1000 + index
            code, country, city = countries[(index + seed) % len(countries)]
            self.proxies[pid] = {
                "proxy_id": pid, "proxy_ip": f"203.0.113.{index % 250 + 1}", "country": country,
                "country_code": code, "city": city, "region": "", "region_name": "", "zip": "", "isp": "SoakNet",
                "org": "SoakNet", "speed": 100, "lat": 0, "lon": 0, "mobile": index % 3 == 1,
                "hosting": index % 3 == 2, "status": 1, "as_name": "AS0", "continent": "", "continent_code": "",
                "_sold": False}
        self._guard = threading.Lock()

    @property
    def api_url(self) -> str:
        return self.url + SOCKS_PREFIX

    @staticmethod
    def _public(record: dict) -> dict:
        return {k: v for k, v in record.items() if not k.startswith("_")}

    def route(self, method, path, params, headers) -> Reply:
        if headers.get("Authorization") != self.token:
            return Reply(401, {"detail": "unauthorized"})
        if not path.startswith(SOCKS_PREFIX):
            return Reply(404, {"detail": "not found"})
        path = path[len(SOCKS_PREFIX):]
        with self._lock:
            if method == "GET" and path == "/proxy":
                return self._list(params)
            if method == "GET" and path == "/proxy/buy":
                return self._buy(params)
            if method == "GET" and path == "/proxy/lookup":
                record = self.proxies.get(_int(params.get("proxy_id")))
                return Reply(200, self._public(record)) if record else Reply(404, {"detail": "not found"})
            if method == "POST" and path == "/proxy/check-refundable":
                purchase = self.bought.get(str(params.get("credentials_id")))
                if purchase is None:
                    return Reply(404, {"detail": "not found"})
                offline = self.proxies[purchase["proxy_id"]]["status"] == 0
                return Reply(200, {"refundable": offline and not purchase["_refunded"],
                                   "message": "offline" if offline else "proxy is online"})
            if method == "POST" and path == "/proxy/refund":
                purchase = self.bought.get(str(params.get("credentials_id")))
                if purchase is None or purchase["_refunded"] or self.proxies[purchase["proxy_id"]]["status"]:
                    return Reply(400, {"detail": "not refundable"})
                purchase["_refunded"] = True
                return Reply(200, {"status": "refunded"})
            if method == "GET" and path == "/proxy/bought":
                items = [self._public(p) for p in self.bought.values()]
                return Reply(200, {"proxies": items, "total": len(items)})
        return Reply(404, {"detail": "not found"})

    def _list(self, params) -> Reply:
        page, size = _int(params.get("page")) or 0, _int(params.get("page_size")) or 50
        rows = [self._public(p) for p in self.proxies.values()
                if not p["_sold"] and p["status"] == 1
                and (not params.get("country_code") or p["country_code"] == params["country_code"])]
        return Reply(200, {"proxies": rows[page * size:(page + 1) * size], "total": len(rows)})

    def _buy(self, params) -> Reply:
        record = self.proxies.get(_int(params.get("proxy_id")))
        if record is None or record["_sold"] or record["status"] == 0:
            return Reply(404, {"detail": "gone"})
        record["_sold"] = True
        cid = str(next(self._ids))
        purchase = {"credentials_id": cid, "proxy_id": record["proxy_id"], "proxy_ip": record["proxy_ip"],
                    "server_ip": "203.0.113.200", "server_listening_port": 20000 + int(cid),
                    "username": f"u{cid}", "password": secrets.token_hex(8), "price": 2.0,
                    "expiration_time": "2099-01-01T00:00:00", "refundable": True, "_refunded": False}
        self.bought[cid] = purchase
        return Reply(200, self._public(purchase))

    def take_offline(self, count: int, rng) -> int:
        """Some sold proxies go offline (so their buyers may refund them); returns how many."""
        with self._lock:
            online = [p for p in self.proxies.values() if p["_sold"] and p["status"] == 1]
            for record in rng.sample(online, min(count, len(online))):
                record["status"] = 0
            return min(count, len(online))


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
