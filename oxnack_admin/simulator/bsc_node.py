"""A BNB Smart Chain stand-in: a JSON-RPC node with a USDT token, and a rate source.

`POST /` speaks JSON-RPC (eth_chainId, eth_blockNumber, eth_getBlockByNumber, eth_getLogs,
eth_getBalance, eth_call for decimals()); `GET /rates` answers CRYPTO_RATE_URL's format; `GET /`
is a page where a person "pays" an address and watches confirmations arrive (bsc_page.py).
Blocks advance only when asked (`mine`) or on a timer (`start_mining`). Knobs for what real
nodes do: `reorg` (the last blocks replaced, their logs reported `removed`), `limit_log_range`
(-32005), `go_down`/`come_up`, `lag` (answering an older head), `chain_id`, `rates_down`.
"""
import secrets
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

from . import LoopbackSimulator, Reply
from .bsc_page import DemoPage, demo_page

USDT_CONTRACT = "0x55d398326f99059fF775485246999027B3197955"
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
DECIMALS_CALL = "0x313ce567"
PAYER = "0x" + "ab" * 20  # who "pays" in the simulator


@dataclass
class Block:
    number: int
    timestamp: int
    hash: str


@dataclass
class Payment:
    """A USDT transfer log or a BNB transfer, in block `block` (None: waiting for the next block)."""

    asset: str
    to: str  # lower-case
    raw: int
    tx_hash: str
    block: int | None = None
    log_index: int = 0
    removed: bool = False  # re-orged away: eth_getLogs reports it with "removed": true


HISTORY = 16  # blocks the node has before its head when it starts


class BscNodeSimulator(LoopbackSimulator):
    """Serve a fake BSC node; drive it with the methods below."""

    def __init__(self, chain_id: int = 56, *, usdt_contract: str = USDT_CONTRACT, usdt_decimals: int = 18,
                 start_block: int = 1000, block_seconds: int = 3, rates: dict | None = None,
                 host: str = "127.0.0.1", port: int = 0):
        super().__init__(host, port)
        self.chain_id = chain_id
        self.usdt_contract, self.usdt_decimals = usdt_contract, usdt_decimals
        self.block_seconds = block_seconds
        self.rates = dict(rates or {"USDT": 92.5, "BNB": 61000.0})
        self.rates_down = False
        self.lag = 0  # eth_blockNumber answers this many blocks below the real head
        self.down = False  # every call answers HTTP 503
        self.max_log_range: int | None = None  # eth_getLogs over more blocks answers -32005
        self.payments: list[Payment] = []
        # A short history before the head, as a real chain has: a fresh node's first confirmed block
        # (head - CRYPTO_CONFIRMATIONS + 1) exists, so the watcher's first pass reads it.
        now = int(time.time())
        self.blocks = [Block(start_block - back, now - back * block_seconds, _hash()) for back in range(HISTORY, -1, -1)]
        self._miner: threading.Event | None = None

    # --- the chain, for tests and the demo ---------------------------------------------------

    @property
    def head(self) -> int:
        with self._lock:
            return self.blocks[-1].number

    def mine(self, count: int = 1, *, timestamp: int | None = None) -> int:
        """Mine `count` blocks (waiting payments go into the first); the new head. `timestamp`: of the first."""
        with self._lock:
            for i in range(count):
                last = self.blocks[-1]
                when = max(last.timestamp, timestamp if timestamp is not None and i == 0 else int(time.time()))
                block = Block(last.number + 1, when, _hash())
                self.blocks.append(block)
                waiting = [p for p in self.payments if p.block is None]
                for index, payment in enumerate(waiting):
                    payment.block, payment.log_index = block.number, index
            return self.blocks[-1].number

    def pay_usdt(self, to: str, amount: Decimal | str, *, mine: bool = True) -> str:
        """A USDT Transfer to `to` (in whole tokens); mined into the next block. Its tx hash."""
        return self._pay("USDT", to, int(Decimal(str(amount)) * 10 ** self.usdt_decimals), mine)

    def send_bnb(self, to: str, amount: Decimal | str, *, mine: bool = True) -> str:
        """BNB to `to` (in whole BNB, 18 decimals); mined into the next block. Its tx hash."""
        return self._pay("BNB", to, int(Decimal(str(amount)) * 10 ** 18), mine)

    def reorg(self, depth: int) -> None:
        """Replace the last `depth` blocks with empty ones: their payments are gone (logs reported removed)."""
        with self._lock:
            cut = self.blocks[-depth].number
            for payment in self.payments:
                if payment.block is not None and payment.block >= cut:
                    payment.removed = True
            timestamps = [block.timestamp for block in self.blocks[-depth:]]
            del self.blocks[-depth:]
            for when in timestamps:
                self.blocks.append(Block(self.blocks[-1].number + 1, when, _hash()))

    def limit_log_range(self, blocks: int | None) -> None:
        self.max_log_range = blocks

    def go_down(self) -> None:
        self.down = True

    def come_up(self) -> None:
        self.down = False

    def confirmations(self, payment: Payment) -> int:
        if payment.block is None or payment.removed:
            return 0
        return self.head - payment.block + 1

    def start_mining(self, seconds: float | None = None) -> "BscNodeSimulator":
        """Mine a block every `seconds` (default block_seconds) in a daemon thread, like a live chain."""
        stop = self._miner = threading.Event()

        def run():
            while not stop.wait(seconds or self.block_seconds):
                self.mine()

        threading.Thread(target=run, name="BscNodeMiner", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._miner is not None:
            self._miner.set()
        super().stop()

    # --- the wire ------------------------------------------------------------------------------

    def route(self, method: str, path: str, params: dict, headers) -> Reply:
        if path == "/rates" and method == "GET":
            return Reply(503, {"error": "rates unavailable"}) if self.rates_down else Reply(200, dict(self.rates))
        if path in ("/", "/pay") and method in ("GET", "POST") and "jsonrpc" not in params:
            return demo_page(self, method, path, params)
        if self.down:
            return Reply(503, {"error": "node down"})
        if method != "POST" or path != "/":
            return Reply(404, {"error": "not found"})
        handler = RPC.get(params.get("method"))
        if handler is None:
            return _rpc(params, error=(-32601, "the method does not exist"))
        with self._lock:
            try:
                return _rpc(params, result=handler(self, params.get("params") or []))
            except RpcFault as fault:
                return _rpc(params, error=(fault.code, str(fault)))

    @staticmethod
    def _send(handler, reply: Reply) -> None:
        if isinstance(reply, DemoPage):
            return reply.send(handler)
        return LoopbackSimulator._send(handler, reply)

    def _pay(self, asset: str, to: str, raw: int, mine: bool) -> str:
        payment = Payment(asset, to.lower(), raw, _hash())
        with self._lock:
            self.payments.append(payment)
            if mine:
                self.mine()
        return payment.tx_hash

    def _visible_head(self) -> int:
        return self.blocks[-1].number - self.lag

    def _block_number(self, params) -> str:
        return hex(self._visible_head())

    def _block_by_number(self, params) -> dict | None:
        number = _number(params[0], self._visible_head())
        block = next((b for b in self.blocks if b.number == number), None)
        if block is None or number > self._visible_head():
            return None
        return {"number": hex(block.number), "hash": block.hash, "timestamp": hex(block.timestamp)}

    def _get_logs(self, params) -> list:
        query = params[0]
        first, last = _number(query["fromBlock"], self._visible_head()), _number(query["toBlock"], self._visible_head())
        if self.max_log_range is not None and last - first + 1 > self.max_log_range:
            raise RpcFault(-32005, "query returned more than 10000 results")
        if str(query.get("address", "")).lower() != self.usdt_contract.lower():
            return []
        topics = query.get("topics") or []
        wanted = topics[2] if len(topics) > 2 else None
        wanted = {t.lower() for t in ([wanted] if isinstance(wanted, str) else wanted or [])}
        found = []
        for p in self.payments:
            topic = "0x" + p.to[2:].rjust(64, "0")
            if (p.asset == "USDT" and p.block is not None and first <= p.block <= min(last, self._visible_head())
                    and (not wanted or topic in wanted) and (topics[:1] in ([], [TRANSFER_TOPIC], [None]))):
                found.append({"address": self.usdt_contract, "topics": [TRANSFER_TOPIC, "0x" + PAYER[2:].rjust(64, "0"),
                              topic], "data": "0x" + format(p.raw, "064x"), "blockNumber": hex(p.block),
                              "transactionHash": p.tx_hash, "logIndex": hex(p.log_index), "removed": p.removed})
        return found

    def _get_balance(self, params) -> str:
        address, number = params[0].lower(), _number(params[1], self._visible_head())
        if number > self._visible_head():
            raise RpcFault(-32000, "header not found")
        return hex(sum(p.raw for p in self.payments if p.asset == "BNB" and p.to == address and not p.removed
                       and p.block is not None and p.block <= number))

    def _call(self, params) -> str:
        call = params[0]
        if str(call.get("to", "")).lower() == self.usdt_contract.lower() and call.get("data") == DECIMALS_CALL:
            return "0x" + format(self.usdt_decimals, "064x")
        return "0x"


class RpcFault(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


RPC = {"eth_chainId": lambda node, params: hex(node.chain_id), "eth_blockNumber": BscNodeSimulator._block_number,
       "eth_getBlockByNumber": BscNodeSimulator._block_by_number, "eth_getLogs": BscNodeSimulator._get_logs,
       "eth_getBalance": BscNodeSimulator._get_balance, "eth_call": BscNodeSimulator._call}


def _rpc(params: dict, *, result=None, error: tuple[int, str] | None = None) -> Reply:
    body = {"jsonrpc": "2.0", "id": params.get("id")}
    body.update({"error": {"code": error[0], "message": error[1]}} if error else {"result": result})
    return Reply(200, body)


def _number(tag, latest: int) -> int:
    if tag in ("latest", "safe", "finalized", None):
        return latest
    try:
        return int(tag, 16)
    except (TypeError, ValueError):
        raise RpcFault(-32602, f"invalid block number {tag!r}") from None


def _hash() -> str:
    return "0x" + secrets.token_hex(32)
