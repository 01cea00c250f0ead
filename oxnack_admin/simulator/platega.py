"""A Platega stand-in: create and read transactions, a payment page, and callbacks to the merchant.

`POST /transaction/process` and `GET /transaction/<id>` speak Platega's wire format. The
payer's `redirect` is `/pay/<id>` here, and `/` lists every payment: on both, a person (or a
test, through `confirm()`/`cancel()`/`chargeback()`) settles a payment, and the simulator then
POSTs the callback to `callback_url` with the merchant's `X-MerchantId` and `X-Secret`.
"""
import html
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

import requests

from . import LoopbackSimulator, Reply

STATUSES = ("PENDING", "CONFIRMED", "CANCELED", "CHARGEBACKED")
ACTIONS = {"confirm": "CONFIRMED", "cancel": "CANCELED", "chargeback": "CHARGEBACKED"}


@dataclass
class Page(Reply):
    """An HTML page or a redirect, for the payer's browser."""

    headers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Callback:
    """One callback the simulator sent, and what the merchant answered (None: unreachable)."""

    transaction_id: str
    body: dict
    status_code: int | None


class PlategaSimulator(LoopbackSimulator):
    """Serve a fake Platega; `requests` holds each API call's headers and JSON body, `callbacks` what was sent."""

    def __init__(self, merchant_id: str = "simulated-merchant", secret: str | None = None, *,
                 callback_url: str | None = None, callback_tries: int = 3, callback_retry_seconds: float = 5.0,
                 host: str = "127.0.0.1", port: int = 0):
        super().__init__(host, port)
        self.merchant_id = merchant_id
        self.secret = secret or secrets.token_urlsafe(24)
        self.callback_url = callback_url
        self.callback_tries, self.callback_retry_seconds = callback_tries, callback_retry_seconds
        self.requests: list[dict] = []  # {"method", "path", "headers", "body"} of API calls
        self.callbacks: list[Callback] = []
        self._transactions: dict[str, dict] = {}

    # --- for tests and the demo ------------------------------------------------------------

    def transaction(self, transaction_id: str) -> dict:
        with self._lock:
            return json.loads(json.dumps(self._transactions[transaction_id]))

    @property
    def transactions(self) -> list[dict]:
        with self._lock:
            return [json.loads(json.dumps(t)) for t in self._transactions.values()]

    def set_status(self, transaction_id: str, status: str, *, amount=None) -> None:
        """Change what GET /transaction/<id> answers, without a callback (a callback that never came)."""
        with self._lock:
            stored = self._transactions[transaction_id]
            stored["status"] = status
            if amount is not None:
                stored["paymentDetails"]["amount"] = amount

    def confirm(self, transaction_id: str, *, notify: bool = True, wait: bool = True) -> list[Callback]:
        return self.settle(transaction_id, "CONFIRMED", notify=notify, wait=wait)

    def cancel(self, transaction_id: str, *, notify: bool = True, wait: bool = True) -> list[Callback]:
        return self.settle(transaction_id, "CANCELED", notify=notify, wait=wait)

    def chargeback(self, transaction_id: str, *, notify: bool = True, wait: bool = True) -> list[Callback]:
        return self.settle(transaction_id, "CHARGEBACKED", notify=notify, wait=wait)

    def settle(self, transaction_id: str, status: str, *, notify: bool = True, wait: bool = True) -> list[Callback]:
        """Set the status and (with `notify`) send the callback: inline with `wait`, else in a thread with retries."""
        self.set_status(transaction_id, status)
        if not notify or not self.callback_url:
            return []
        if wait:
            return [self.send_callback(transaction_id)]
        threading.Thread(target=self._notify_with_retries, args=(transaction_id,), daemon=True,
                         name="platega-callback").start()
        return []

    def callback_body(self, transaction_id: str) -> dict:
        """The JSON body Platega POSTs to the merchant for this transaction's current state."""
        with self._lock:
            stored = self._transactions[transaction_id]
            return {"id": stored["id"], "amount": stored["paymentDetails"]["amount"],
                    "currency": stored["paymentDetails"]["currency"], "status": stored["status"],
                    "paymentMethod": stored["paymentMethod"], "payload": stored["payload"]}

    def send_callback(self, transaction_id: str, body: dict | None = None, timeout: float = 10) -> Callback:
        """POST one callback now with the merchant's credentials; `body` replaces the true one (a lie)."""
        body = self.callback_body(transaction_id) if body is None else body
        try:
            answer = requests.post(self.callback_url, json=body, timeout=timeout,
                                   headers={"X-MerchantId": self.merchant_id, "X-Secret": self.secret})
            code = answer.status_code
        except requests.RequestException:
            code = None
        sent = Callback(transaction_id, body, code)
        with self._lock:
            self.callbacks.append(sent)
        return sent

    def _notify_with_retries(self, transaction_id: str) -> None:
        # Like Platega: a few tries some minutes apart (seconds here), then it gives up.
        for attempt in range(self.callback_tries):
            if self.send_callback(transaction_id).status_code == 200:
                return
            if attempt + 1 < self.callback_tries:
                time.sleep(self.callback_retry_seconds)

    # --- HTTP ------------------------------------------------------------------------------

    def error_reply(self, status: int, message: str) -> Reply:
        return Reply(status, {"message": message, "statusCode": status})

    def route(self, method, path, params, headers) -> Reply:
        path = path.rstrip("/") or "/"
        if path == "/" and method == "GET":
            return self._list_page()
        if path.startswith("/pay/"):
            return self._payer(method, path[len("/pay/"):], params)
        with self._lock:
            self.requests.append({"method": method, "path": path, "headers": dict(headers.items()),
                                  "body": dict(params) if method == "POST" else None})
        if not (secrets.compare_digest(headers.get("X-MerchantId", "").encode(), self.merchant_id.encode())
                and secrets.compare_digest(headers.get("X-Secret", "").encode(), self.secret.encode())):
            return self.error_reply(401, "Unauthorized")
        if path == "/transaction/process":
            return self._create(params) if method == "POST" else self.error_reply(405, "Method Not Allowed")
        if path.startswith("/transaction/") and method == "GET":
            with self._lock:
                stored = self._transactions.get(path[len("/transaction/"):])
                return Reply(200, json.loads(json.dumps(stored))) if stored else self.error_reply(404, "Not Found")
        return self.error_reply(404, "Not Found")

    def _create(self, params: dict) -> Reply:
        details = params.get("paymentDetails")
        method = params.get("paymentMethod")
        if not isinstance(details, dict) or not isinstance(method, int) or isinstance(method, bool):
            return self.error_reply(400, "paymentMethod and paymentDetails are required")
        try:
            amount = Decimal(str(details.get("amount")))
        except InvalidOperation:
            return self.error_reply(400, "paymentDetails.amount must be a number")
        if not amount.is_finite() or amount <= 0 or details.get("currency") != "RUB":
            return self.error_reply(400, "paymentDetails needs a positive amount in RUB")
        transaction_id = str(uuid.uuid4())
        stored = {"id": transaction_id, "status": "PENDING",
                  "paymentDetails": {"amount": details["amount"], "currency": "RUB"},
                  "merchantName": "Simulated merchant", "mechantId": self.merchant_id, "comission": 0,
                  "paymentMethod": method, "expiresIn": "00:15:00", "return": params.get("return"),
                  "failedUrl": params.get("failedUrl"), "description": params.get("description"),
                  "payload": params.get("payload"), "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        with self._lock:
            self._transactions[transaction_id] = stored
        return Reply(200, {"paymentMethod": method, "transactionId": transaction_id,
                           "redirect": f"{self.url}/pay/{transaction_id}", "return": params.get("return"),
                           "paymentDetails": stored["paymentDetails"], "status": "PENDING", "expiresIn": "00:15:00",
                           "merchantId": self.merchant_id, "usdtRate": None})

    # --- pages for a person ----------------------------------------------------------------

    def _payer(self, method: str, rest: str, params: dict) -> Reply:
        transaction_id, _, action = rest.partition("/")
        with self._lock:
            stored = self._transactions.get(transaction_id)
        if stored is None:
            return Page(404, _page("Unknown payment", "<p>No such payment.</p>"), headers={})
        if method == "POST" and action in ACTIONS:
            self.settle(transaction_id, ACTIONS[action], wait=False)
            back = (stored.get("return") if action == "confirm" else stored.get("failedUrl")) or ""
            if params.get("from") == "list" or not back.startswith("http"):
                back = "/" if params.get("from") == "list" else f"/pay/{quote(transaction_id)}"
            return Page(303, "", headers={"Location": back})
        return Page(200, _page("Simulated Platega payment", self._payment_panel(stored, "pay")), headers={})

    def _list_page(self) -> Reply:
        with self._lock:
            rows = list(reversed(self._transactions.values()))
        body = "".join(self._payment_panel(t, "list") for t in rows) or "<p>No payments yet.</p>"
        return Page(200, _page("Simulated Platega: every payment", body), headers={})

    def _payment_panel(self, stored: dict, origin: str) -> str:
        transaction_id = html.escape(stored["id"])
        buttons = "".join(
            f'<form method="post" action="/pay/{quote(stored["id"])}/{action}"><input type="hidden" name="from" '
            f'value="{origin}"><button type="submit">{label}</button></form>'
            for action, label, allowed in (("confirm", "Pay (confirm)", stored["status"] == "PENDING"),
                                           ("cancel", "Cancel", stored["status"] == "PENDING"),
                                           ("chargeback", "Charge back", stored["status"] == "CONFIRMED"))
            if allowed)
        return (f'<section><h2>{html.escape(str(stored["paymentDetails"]["amount"]))} RUB — '
                f'<span class="status">{html.escape(stored["status"])}</span></h2>'
                f'<p>{html.escape(str(stored.get("description") or ""))}</p>'
                f'<p class="muted">transaction {transaction_id} · payload {html.escape(str(stored.get("payload")))}'
                f'</p><div class="actions">{buttons}</div></section>')

    @staticmethod
    def _send(handler, reply: Reply) -> None:
        if not isinstance(reply, Page):
            return LoopbackSimulator._send(handler, reply)
        payload = reply.body.encode()
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", "text/html; charset=utf-8")
            handler.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            '<style>body{font:16px system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}'
            'section{border:1px solid #ccd;border-radius:8px;padding:1rem;margin:1rem 0}'
            '.actions{display:flex;gap:.5rem}.muted{color:#667;font-size:.85rem}'
            '.banner{background:#fff1d6;padding:.5rem 1rem;border-radius:6px}</style></head><body>'
            '<p class="banner">Simulated Platega: no real money moves. Settling a payment sends the callback '
            f'to the shop.</p><h1>{html.escape(title)}</h1>{body}<p><a href="/">All payments</a></p></body></html>')
