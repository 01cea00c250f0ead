"""GET /status's crypto_rpc check against the loopback BSC node: up, stopped, on another chain."""
from oxnack_admin import create_app
from oxnack_admin.extensions import db
from oxnack_admin.simulator.bsc_node import BscNodeSimulator
from tests.conftest import make_test_config


def crypto_check(database_url: str, redis_url: str, node_url: str, chain_id: int = 56) -> dict:
    """The crypto_rpc entry of GET /status (from loopback) on an app pointed at `node_url`."""
    app = create_app(make_test_config(database_url, redis_url, STATUS_CHECK_TIMEOUT=1.0, CRYPTO_RPC_URL=node_url,
                                      CRYPTO_CHAIN_ID=chain_id))
    response = app.test_client().get("/status")
    with app.app_context():
        db.engine.dispose()
    assert response.status_code == 200
    return response.get_json()["checks"]["crypto_rpc"]


def test_crypto_rpc_is_ok_on_the_configured_chain_and_says_its_head(database_url, redis_url):
    with BscNodeSimulator(chain_id=56, start_block=4321) as node:
        check = crypto_check(database_url, redis_url, node.url)
    assert check["ok"] is True and check["detail"] == "chain 56, head 4321" and check["latency_ms"] >= 0


def test_crypto_rpc_is_not_ok_once_the_node_is_stopped(database_url, redis_url):
    with BscNodeSimulator(chain_id=56) as node:
        url = node.url
        assert crypto_check(database_url, redis_url, url)["ok"] is True
    check = crypto_check(database_url, redis_url, url)
    assert check["ok"] is False and check["detail"]


def test_crypto_rpc_is_not_ok_when_the_node_answers_503(database_url, redis_url):
    with BscNodeSimulator(chain_id=56) as node:
        node.go_down()
        check = crypto_check(database_url, redis_url, node.url)
    assert check["ok"] is False and "503" in check["detail"]


def test_crypto_rpc_is_not_ok_on_another_chain(database_url, redis_url):
    with BscNodeSimulator(chain_id=97) as node:
        check = crypto_check(database_url, redis_url, node.url, chain_id=56)
    assert check["ok"] is False and "chain id 97, expected 56" in check["detail"]
