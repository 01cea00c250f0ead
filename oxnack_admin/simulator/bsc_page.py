"""The simulated chain's page: "pay" a deposit address in USDT or BNB and watch the confirmations arrive."""
import html
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from . import Reply

ASSETS = ("USDT", "BNB")


@dataclass
class DemoPage(Reply):
    """An HTML page or a redirect."""

    headers: dict = field(default_factory=dict)

    def send(self, handler) -> None:
        payload = self.body.encode()
        try:
            handler.send_response(self.status)
            handler.send_header("Content-Type", "text/html; charset=utf-8")
            handler.send_header("Content-Length", str(len(payload)))
            for name, value in self.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass


def demo_page(node, method: str, path: str, params: dict) -> DemoPage:
    """GET /: the form (prefilled from ?to=&asset=&amount=) and every payment; POST /pay sends one."""
    if method == "POST" and path == "/pay":
        error = _pay(node, params)
        if error:
            return DemoPage(400, _page(node, params, error))
        return DemoPage(303, "", headers={"Location": "/?" + urlencode({"sent": "1"})})
    return DemoPage(200, _page(node, params))


def _pay(node, params: dict) -> str | None:
    to, asset = str(params.get("to") or "").strip(), str(params.get("asset") or "")
    if not (to.startswith("0x") and len(to) == 42) or asset not in ASSETS:
        return "Give a 0x... address and USDT or BNB."
    try:
        amount = Decimal(str(params.get("amount") or ""))
    except InvalidOperation:
        return "The amount is not a number."
    if not amount.is_finite() or amount <= 0:
        return "The amount must be above zero."
    (node.pay_usdt if asset == "USDT" else node.send_bnb)(to, amount, mine=False)
    return None


def _page(node, params: dict, error: str | None = None) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(p.asset)}</td><td><code>{esc(p.to)}</code></td>"
        f"<td>{Decimal(p.raw) / Decimal(10) ** (node.usdt_decimals if p.asset == 'USDT' else 18)}</td>"
        f"<td>{'re-orged away' if p.removed else p.block or 'waiting for a block'}</td>"
        f"<td>{node.confirmations(p)}</td><td><code>{esc(p.tx_hash[:18])}…</code></td></tr>"
        for p in reversed(node.payments[-50:]))
    options = "".join(f'<option{" selected" if params.get("asset") == a else ""}>{a}</option>' for a in ASSETS)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">'
        '<title>Simulated BNB Smart Chain</title><style>body{font:16px system-ui,sans-serif;max-width:60rem;'
        'margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}td,th{padding:.25rem .5rem;'
        'border-bottom:1px solid #dde}.banner{background:#fff1d6;padding:.5rem 1rem;border-radius:6px}'
        '.error{color:#a00}</style></head><body><p class="banner">Simulated BNB Smart Chain: no real coins. '
        f'Chain id {node.chain_id}, head block <b>{node.head}</b>, a block every {node.block_seconds} s.</p>'
        '<h1>Pay a deposit address</h1>'
        + (f'<p class="error">{esc(error)}</p>' if error else "")
        + '<form method="post" action="/pay"><label>Address <input name="to" size="44" value="'
        f'{esc(str(params.get("to") or ""))}"></label> <label>Asset <select name="asset">{options}</select></label> '
        f'<label>Amount <input name="amount" value="{esc(str(params.get("amount") or ""))}"></label> '
        '<button type="submit">Send</button></form><h2>Payments</h2><p>The shop counts a payment once it has '
        'enough confirmations (CRYPTO_CONFIRMATIONS); this page refreshes every 3 s.</p>'
        '<table><tr><th>Asset</th><th>To</th><th>Amount</th><th>Block</th><th>Confirmations</th><th>Tx</th></tr>'
        f'{rows}</table></body></html>')
