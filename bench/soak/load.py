"""The seeded load: customers who register, top up, order, press power buttons, renew, buy proxies.

Each customer is a thread with its own random.Random(seed, index); the app hosts are picked at
random per request, as a load balancer would. Every answer is recorded with its latency.
"""
import json
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

log = logging.getLogger("soak")
REQUEST_TIMEOUT = 20
OSES = ("ubuntu", "debian")
POWER_COOLDOWN = 4.0  # seconds between one customer's power actions


@dataclass
class Sample:
    at: float  # seconds since the load started
    endpoint: str
    status: int  # 0 when no answer came
    ms: float
    error: str = ""  # "connection", "timeout" when status is 0


@dataclass
class Metrics:
    started: float = field(default_factory=time.monotonic)
    samples: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    skipped: dict = field(default_factory=dict)  # flow -> why it is off

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)

    def now(self) -> float:
        return time.monotonic() - self.started


@dataclass
class Ledger:
    """What the load did that the invariants compare with: invoices paid, proxies bought."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    paid: dict = field(default_factory=dict)  # transaction_id -> (mail, amount)
    callbacks: dict = field(default_factory=dict)  # transaction_id -> callback body, for replays
    proxy_orders: list = field(default_factory=list)  # (mail, purchase answer)
    customers: list = field(default_factory=list)  # (mail, session token)
    orders_placed: int = 0


class Customer:
    def __init__(self, load: "Load", index: int):
        self.load, self.index = load, index
        self.rng = random.Random(f"{load.seed}-{index}")
        self.mail = f"soak{load.seed}-{index}@soak.example"
        self.password = f"SoakPass{index}x"
        self.http = requests.Session()
        self.token: str | None = None
        self.servers: list[dict] = []
        self.proxy_orders: list[dict] = []
        self.last_power = 0.0

    # --- plumbing --------------------------------------------------------------------------

    def call(self, method: str, path: str, body=None, *, raw: str | None = None, headers=None,
             base: str | None = None, name: str | None = None):
        base = base or self.rng.choice(self.load.app_urls)
        headers = dict(headers or {})
        if self.token:
            headers["Cookie"] = f"session_id={self.token}"
        if raw is not None:
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        endpoint = name or f"{method} {path.split('?')[0]}"
        try:
            answer = self.http.request(method, base + path, json=body if raw is None else None,
                                       data=raw, headers=headers, timeout=REQUEST_TIMEOUT)
        except requests.Timeout:
            self.load.metrics.add(Sample(self.load.metrics.now(), endpoint, 0, (time.monotonic() - started) * 1e3,
                                         "timeout"))
            return None
        except requests.ConnectionError:
            self.load.metrics.add(Sample(self.load.metrics.now(), endpoint, 0, (time.monotonic() - started) * 1e3,
                                         "connection"))
            return None
        self.load.metrics.add(Sample(self.load.metrics.now(), endpoint, answer.status_code,
                                     (time.monotonic() - started) * 1e3))
        return answer

    def patiently(self, method, path, body=None, ok=(200, 201), tries=8):
        """Retry while the answer is missing or 5xx (a customer pressing again during an outage)."""
        for attempt in range(tries):
            answer = self.call(method, path, body)
            if answer is not None and answer.status_code < 500:
                return answer
            if self.load.stopping():
                return answer
            time.sleep(min(0.5 * 2 ** attempt, 4))
        return answer

    @staticmethod
    def body(answer) -> dict:
        try:
            value = answer.json()
            return value if isinstance(value, dict) else {"_list": value}
        except ValueError:
            return {}

    # --- the customer's life ---------------------------------------------------------------

    def run(self) -> None:
        try:
            if not self.sign_up():
                return
            actions = self.load.actions()
            names, weights = zip(*actions, strict=True)
            while not self.load.stopping():
                getattr(self, names[self.rng.choices(range(len(names)), weights)[0]])()
                time.sleep(self.rng.uniform(0.05, 0.3))
        except Exception:
            log.exception("customer %s crashed", self.index)
            self.load.crashes += 1

    def sign_up(self) -> bool:
        answer = self.patiently("POST", "/register", {"mail": self.mail, "passwd": self.password})
        if answer is None or answer.status_code != 200:
            return False
        code = self.load.hooks.code_for(self.mail)
        if code is None:
            return False
        answer = self.patiently("POST", "/register/code", {"mail": self.mail, "code": code})
        if answer is None or answer.status_code != 200:
            return False
        self.load.hooks.opening_credit(self.mail)
        answer = self.patiently("POST", "/login", {"mail": self.mail, "passwd": self.password})
        if answer is None or answer.status_code != 200 or "session_id" not in answer.cookies:
            return False
        self.token = answer.cookies["session_id"]
        with self.load.ledger.lock:
            self.load.ledger.customers.append((self.mail, self.token))
        return True

    def read(self) -> None:
        choice = self.rng.random()
        if choice < 0.35:
            self.call("GET", "/get_balance")
        elif choice < 0.7:
            self.refresh_servers()
        elif choice < 0.85:
            self.call("GET", "/parametrs")
        else:
            self.call("POST", "/calc_price", {"core": self.rng.randint(1, 5), "ram": self.rng.randint(1, 5),
                                              "ssd": self.rng.randint(15, 30)})

    def refresh_servers(self) -> None:
        answer = self.call("GET", "/user_services")
        if answer is not None and answer.status_code == 200:
            self.servers = self.body(answer).get("services") or []

    def order(self) -> None:
        if len(self.servers) >= self.load.max_servers:
            return self.read()
        answer = self.call("POST", "/create_machine", {
            "core": self.rng.randint(1, 2), "ram": self.rng.randint(1, 2), "hdd": self.rng.randint(15, 20),
            "promo": "NOT", "os": self.rng.choice(OSES)})
        if answer is not None and answer.status_code == 201:
            with self.load.ledger.lock:
                self.load.ledger.orders_placed += 1
            self.refresh_servers()

    def power(self) -> None:
        if not self.servers:
            return self.refresh_servers()
        if time.monotonic() - self.last_power < POWER_COOLDOWN:
            return self.read()  # a person presses a power button now and then, not several times a second
        self.last_power = time.monotonic()
        server = self.rng.choice(self.servers)
        self.call("POST", "/control_server", {"server_id": server["id"],
                                              "action": self.rng.choice(("start", "stop", "restart"))})

    def bad_input(self) -> None:
        """What a broken front end sends: every answer must be a 4xx, never a 5xx."""
        choice = self.rng.randrange(4)
        if choice == 0:
            self.call("POST", "/create_machine", raw="{not json", name="POST /create_machine (bad)")
        elif choice == 1:
            self.call("POST", "/create_machine", {"core": "two", "ram": -1, "hdd": 10 ** 12, "promo": 5, "os": []},
                      name="POST /create_machine (bad)")
        elif choice == 2:
            self.call("POST", "/control_server", {"server_id": 10 ** 9, "action": "explode"},
                      name="POST /control_server (bad)")
        else:
            self.call("POST", "/register/code", {"mail": self.mail, "code": "abc"}, name="POST /register/code (bad)")

    def top_up(self) -> None:
        amount = self.rng.choice((100, 150, 300))
        answer = self.call("POST", "/create_invoice", {"amount": amount})
        if answer is None or answer.status_code != 201:
            return
        tid = self.body(answer).get("transaction_id")
        if tid:
            self.load.hooks.pay(self, str(tid), amount)

    def renew(self) -> None:
        if not self.servers:
            return self.refresh_servers()
        server = self.rng.choice(self.servers)
        if self.rng.random() < 0.3:
            self.call("POST", "/auto_renew", {"server_id": server["id"], "enabled": self.rng.random() < 0.7})
        else:
            self.call("POST", "/renew_server", {"server_id": server["id"]})

    def proxies(self) -> None:
        if self.proxy_orders and self.rng.random() < 0.3:
            order = self.rng.choice(self.proxy_orders)
            answer = self.call("POST", "/api/external-proxy/refund", {"order_id": order["order_id"]})
            if answer is not None and answer.status_code == 200:
                order["_refunded"] = True
            return
        answer = self.call("GET", f"/api/external-proxy/list?page_size=20&page={self.rng.randrange(3)}")
        offers = self.body(answer).get("proxies") if answer is not None and answer.status_code == 200 else None
        if not offers:
            return
        product = self.rng.choice(offers)["product_id"]
        key = str(uuid.uuid4())
        repeats = 2 if self.rng.random() < 0.2 else 1  # a double click: same key, one charge
        for _ in range(repeats):
            answer = self.call("POST", "/api/external-proxy/purchase", {"product_id": product},
                               headers={"Idempotency-Key": key})
        if answer is not None and answer.status_code == 200:
            purchase = self.body(answer)
            self.proxy_orders.append(purchase)
            with self.load.ledger.lock:
                self.load.ledger.proxy_orders.append((self.mail, purchase))


class Load:
    """Runs `customers` Customer threads until `stop_at`; what they need from the harness is `hooks`."""

    def __init__(self, seed: int, app_urls: list[str], customers: int, features: dict, hooks, stop_at: float):
        self.seed, self.app_urls, self.count, self.features, self.hooks = seed, app_urls, customers, features, hooks
        self.stop_at = stop_at
        self.max_servers = 3
        self.metrics = Metrics()
        self.ledger = Ledger()
        self.crashes = 0
        self.threads: list[threading.Thread] = []

    def stopping(self) -> bool:
        return time.monotonic() >= self.stop_at

    def actions(self) -> list[tuple[str, float]]:
        actions = [("read", 10), ("order", 2.5), ("power", 2), ("bad_input", 1)]
        if self.features.get("payments"):
            actions.append(("top_up", 1.5))
        if self.features.get("lifecycle"):
            actions.append(("renew", 1))
        if self.features.get("proxies"):
            actions.append(("proxies", 2))
        return actions

    def start(self) -> None:
        for index in range(self.count):
            thread = threading.Thread(target=Customer(self, index).run, name=f"customer-{index}", daemon=True)
            self.threads.append(thread)
            thread.start()
            time.sleep(0.05)  # staggered sign-ups, like real arrivals

    def join(self, grace: float) -> None:
        deadline = time.monotonic() + grace
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))


def dump_json(path, value) -> None:
    with open(path, "w") as out:
        json.dump(value, out, indent=1, default=str)
