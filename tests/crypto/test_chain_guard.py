"""eth_chainId on every pass: a node that moves to another chain stops crediting and alerts staff once per change."""
import logging
from decimal import Decimal

from tests.crypto.conftest import credits_of, watch


def crypto_alerts(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name == "oxnack_admin.services.crypto.alerts" and record.levelno == logging.ERROR]


def test_a_node_that_switches_chain_mid_life_stops_crediting_and_alerts_once(chain, open_crypto, customer, caplog):
    caplog.set_level(logging.INFO)
    first = open_crypto(925, "USDT")
    chain.pay_usdt(first.address, "10")
    chain.mine(2)
    assert watch().credited == [Decimal("925.00")]  # a healthy pass first: the check is not only at start-up
    second = open_crypto(925, "USDT")
    chain.pay_usdt(second.address, "10")
    chain.mine(2)
    chain.chain_id = 97  # e.g. a load balancer now sends us to a testnet node
    outcomes = [watch().outcome for _ in range(3)]
    assert outcomes == ["failed"] * 3 and credits_of(customer.id) == [Decimal("925.00")]
    assert len(crypto_alerts(caplog)) == 1 and "CRYPTO ALERT" in crypto_alerts(caplog)[0]
    assert "chain 97" in crypto_alerts(caplog)[0] and chain.url not in crypto_alerts(caplog)[0]
    chain.chain_id = 56
    assert watch().credited == [Decimal("925.00")]
    chain.chain_id = 97
    assert watch().outcome == "failed" and len(crypto_alerts(caplog)) == 2  # a new mismatch is a new alert
