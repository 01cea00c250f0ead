"""BNB Smart Chain JSON-RPC client: chain id, head, logs, balances, decimals(). One place for the wire format.

Transient failures (connect errors, timeouts, 5xx, 429, a node's internal error) are retried a
few times with backoff; error -32005 (limit exceeded) on eth_getLogs halves the block range
instead. Whatever remains becomes a RemoteError whose message is short and safe to show staff.
"""
import itertools
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import requests

from .errors import PermanentRemoteError, RemoteError, TransientRemoteError, error_for_status, short, transport_error

log = logging.getLogger(__name__)

SYSTEM = "the BSC node"
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"  # Transfer(address,address,uint256)
DECIMALS_CALL = "0x313ce567"  # decimals()
LIMIT_EXCEEDED = -32005
TRANSIENT_CODES = {-32603, -32000}  # internal error; "header not found" and the like while a node syncs


class LimitExceeded(PermanentRemoteError):
    """The node refused the call as too large (-32005)."""


@dataclass(frozen=True)
class TransferLog:
    """One ERC-20 Transfer log as the node reported it."""

    tx_hash: str
    log_index: int
    block_number: int
    to_address: str  # lower-case 0x... (the topic's last 20 bytes)
    raw_amount: int
    removed: bool


def padded_topic(address: str) -> str:
    """An address as a 32-byte topic."""
    return "0x" + address.lower().removeprefix("0x").rjust(64, "0")


class BscRpcClient:
    def __init__(self, url: str, *, timeout: float = 10, retries: int = 2, backoff: float = 0.3):
        if not url.startswith(("http://", "https://")):
            raise PermanentRemoteError("CRYPTO_RPC_URL must start with http:// or https://")
        self.url = url
        self.timeout, self.retries, self.backoff = timeout, max(int(retries), 0), max(float(backoff), 0.0)
        self._session = requests.Session()
        self._ids = itertools.count(1)

    @classmethod
    def from_config(cls, config) -> "BscRpcClient":
        """The client for this app's settings; PermanentRemoteError when crypto is off."""
        if not config.get("CRYPTO_RPC_URL"):
            raise PermanentRemoteError("crypto top-ups are off (CRYPTO_RPC_URL is empty)")
        return cls(config["CRYPTO_RPC_URL"], timeout=config["CRYPTO_RPC_TIMEOUT"],
                   retries=config["CRYPTO_RPC_RETRIES"], backoff=config["CRYPTO_RPC_RETRY_BACKOFF"])

    def __repr__(self) -> str:
        return "BscRpcClient(<node>)"  # the URL may carry an API key

    def chain_id(self) -> int:
        return _quantity(self._request("eth_chainId", []), "eth_chainId")

    def block_number(self) -> int:
        return _quantity(self._request("eth_blockNumber", []), "eth_blockNumber")

    def block_time(self, number: int) -> datetime:
        """When block `number` was mined (eth_getBlockByNumber)."""
        block = self._request("eth_getBlockByNumber", [hex(number), False])
        if not isinstance(block, dict):
            raise TransientRemoteError(f"{SYSTEM} does not have block {number} (yet)")
        return datetime.fromtimestamp(_quantity(block.get("timestamp"), "block timestamp"), timezone.utc)

    def balance(self, address: str, block: int) -> int:
        """The address's balance in wei at block `block`."""
        return _quantity(self._request("eth_getBalance", [address, hex(block)]), "eth_getBalance")

    def decimals(self, contract: str, block: int | str = "latest") -> int:
        """An ERC-20 token's decimals(), read from the chain."""
        answer = self._request("eth_call", [{"to": contract, "data": DECIMALS_CALL},
                                            hex(block) if isinstance(block, int) else block])
        value = _quantity(answer if answer not in ("0x", None) else None, "decimals()")
        if not 0 <= value <= 36:
            raise PermanentRemoteError(f"decimals() answered {value}")
        return value

    def transfers_to(self, contract: str, addresses: list[str], from_block: int, to_block: int) -> list[TransferLog]:
        """Transfer logs of `contract` to any of `addresses` in [from_block, to_block]; -32005 halves the range."""
        query = {"address": contract, "topics": [TRANSFER_TOPIC, None, [padded_topic(a) for a in addresses]]}
        return [_transfer(entry) for entry in self._logs(query, from_block, to_block)]

    # --- plumbing ----------------------------------------------------------------------------

    def _logs(self, query: dict, from_block: int, to_block: int) -> list:
        try:
            answer = self._request("eth_getLogs", [{**query, "fromBlock": hex(from_block), "toBlock": hex(to_block)}])
        except LimitExceeded:
            if from_block >= to_block:
                raise
            middle = (from_block + to_block) // 2
            log.info("BSC node: -32005 for blocks %s..%s; asking in two halves", from_block, to_block)
            return self._logs(query, from_block, middle) + self._logs(query, middle + 1, to_block)
        if not isinstance(answer, list):
            raise PermanentRemoteError(f"{SYSTEM} answered eth_getLogs without a list")
        return answer

    def _request(self, method: str, params: list):
        """One call with retries of transient failures; its `result`, or a RemoteError."""
        attempt = 0
        while True:
            try:
                return self._once(method, params)
            except TransientRemoteError as error:
                if attempt >= self.retries:
                    raise
                delay = self.backoff * (2 ** attempt)
                attempt += 1
                log.info("BSC node: %s; try %s of %s in %.1f s", error.message, attempt + 1, self.retries + 1, delay)
                time.sleep(delay)

    def _once(self, method: str, params: list):
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            response = self._session.post(self.url, json=body, timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise transport_error(exc, SYSTEM, "CRYPTO_RPC_URL", method) from None
        if response.status_code >= 400:
            raise error_for_status(response.status_code, f"{SYSTEM} answered HTTP {response.status_code} ({method})")
        try:
            answer = response.json()
        except ValueError:
            raise TransientRemoteError(f"{SYSTEM} answered {method} with something that is not JSON") from None
        if not isinstance(answer, dict):
            raise TransientRemoteError(f"{SYSTEM} answered {method} with something that is not a JSON-RPC reply")
        error = answer.get("error")
        if error is not None:
            raise _rpc_error(method, error)
        if "result" not in answer:
            raise TransientRemoteError(f"{SYSTEM} answered {method} without a result")
        return answer["result"]


def _rpc_error(method: str, error) -> RemoteError:
    code = error.get("code") if isinstance(error, dict) else None
    message = f"{SYSTEM}: {method} failed ({code}: {short(error.get('message') if isinstance(error, dict) else error, 120)})"
    if code == LIMIT_EXCEEDED:
        return LimitExceeded(message)
    if code in TRANSIENT_CODES:
        return TransientRemoteError(message)
    return PermanentRemoteError(message)


def _quantity(value, what: str) -> int:
    """A JSON-RPC hex quantity as an int."""
    if not isinstance(value, str) or not value.startswith("0x") or len(value) > 80:
        raise PermanentRemoteError(f"{SYSTEM} answered {what} with {short(value, 40)!r}, not a hex quantity")
    try:
        return int(value, 16)
    except ValueError:
        raise PermanentRemoteError(f"{SYSTEM} answered {what} with {short(value, 40)!r}") from None


def _transfer(entry) -> TransferLog:
    if not isinstance(entry, dict):
        raise PermanentRemoteError(f"{SYSTEM} answered a log that is not an object")
    topics = entry.get("topics") or []
    if len(topics) < 3 or not isinstance(topics[2], str) or len(topics[2]) != 66:
        raise PermanentRemoteError(f"{SYSTEM} answered a Transfer log without its recipient topic")
    tx_hash = entry.get("transactionHash")
    if not isinstance(tx_hash, str) or len(tx_hash) != 66:
        raise PermanentRemoteError(f"{SYSTEM} answered a log without a transaction hash")
    return TransferLog(tx_hash.lower(), _quantity(entry.get("logIndex"), "logIndex"),
                       _quantity(entry.get("blockNumber"), "blockNumber"), "0x" + topics[2][-40:].lower(),
                       _quantity(entry.get("data") if entry.get("data") not in ("0x", "") else "0x0", "log data"),
                       entry.get("removed") is True)
