"""The JSON-RPC client against the loopback node over HTTP: calls, retries, -32005 halving, removed logs."""
from decimal import Decimal

import pytest

from oxnack_admin.clients.bsc_rpc import BscRpcClient
from oxnack_admin.clients.errors import TransientRemoteError
from oxnack_admin.simulator.bsc_node import USDT_CONTRACT, BscNodeSimulator

TO = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"


@pytest.fixture
def node():
    with BscNodeSimulator(usdt_decimals=18, start_block=100) as simulator:
        yield simulator


def client(node, retries: int = 2) -> BscRpcClient:
    return BscRpcClient(node.url, timeout=3, retries=retries, backoff=0)


def test_chain_id_head_block_time_balance_and_decimals(node):
    node.mine(4)
    node.send_bnb(TO, "0.5")
    rpc = client(node)
    assert rpc.chain_id() == 56 and rpc.block_number() == 105
    assert rpc.balance(TO, 105) == 5 * 10 ** 17 and rpc.balance(TO, 104) == 0
    assert rpc.decimals(USDT_CONTRACT) == 18
    assert rpc.block_time(105).timestamp() == node.blocks[-1].timestamp


def test_transfer_logs_to_the_watched_addresses_only(node):
    tx = node.pay_usdt(TO, "12.5")
    node.pay_usdt("0x" + "11" * 20, "1")
    (log,) = client(node).transfers_to(USDT_CONTRACT, [TO], 100, node.head)
    assert (log.tx_hash, log.to_address, log.removed) == (tx, TO.lower(), False)
    assert Decimal(log.raw_amount) / 10 ** 18 == Decimal("12.5")


def test_limit_exceeded_halves_the_range_until_it_fits(node):
    node.pay_usdt(TO, "1")
    node.mine(40)
    node.pay_usdt(TO, "2")
    node.limit_log_range(10)
    logs = client(node).transfers_to(USDT_CONTRACT, [TO], 90, node.head)
    assert sorted(log.raw_amount // 10 ** 18 for log in logs) == [1, 2]
    ranges = [call.params["params"][0] for call in node.calls_to("POST", "^/$") if call.params["method"] == "eth_getLogs"]
    answered = [r for r in ranges if int(r["toBlock"], 16) - int(r["fromBlock"], 16) + 1 <= 10]
    assert len(ranges) > len(answered) > 1  # refused wide ranges, then halves that fit


def test_transient_failures_are_retried_and_a_node_that_stays_down_is_an_error(node):
    node.fail_next("POST", "^/$", 503, times=2)
    assert client(node).block_number() == 100
    node.go_down()
    with pytest.raises(TransientRemoteError):
        client(node, retries=1).block_number()


def test_a_reorged_log_is_reported_removed(node):
    node.pay_usdt(TO, "3")
    node.reorg(1)
    (log,) = client(node).transfers_to(USDT_CONTRACT, [TO], 100, node.head)
    assert log.removed is True
