"""The Platega client against the loopback simulator: wire format, retries, and errors that say what failed."""
from decimal import Decimal

import pytest

from oxnack_admin.clients.errors import PermanentRemoteError, TransientRemoteError
from oxnack_admin.clients.platega import GatewayUnknownTransaction, PlategaClient
from oxnack_admin.simulator import Reply
from oxnack_admin.simulator.platega import PlategaSimulator


@pytest.fixture
def gateway():
    simulator = PlategaSimulator("m-1", "s-1").start()
    yield simulator
    simulator.stop()


def client_for(simulator, **options) -> PlategaClient:
    return PlategaClient(simulator.url, simulator.merchant_id, simulator.secret,
                         **{"timeout": 2, "retries": 2, "backoff": 0, **options})


def create(client: PlategaClient, amount: int = 300):
    return client.create_transaction(amount, description="top-up", return_url="https://shop.example/ok",
                                     failed_url="https://shop.example/fail", payload="inv_1", method=2)


def test_create_sends_the_contracts_request_and_reads_the_answer(gateway):
    created = create(client_for(gateway))
    (sent,) = gateway.requests
    assert sent["path"] == "/transaction/process" and sent["method"] == "POST"
    assert sent["headers"]["X-MerchantId"] == "m-1" and sent["headers"]["X-Secret"] == "s-1"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert sent["body"] == {"paymentMethod": 2, "paymentDetails": {"amount": 300, "currency": "RUB"},
                            "description": "top-up", "return": "https://shop.example/ok",
                            "failedUrl": "https://shop.example/fail", "payload": "inv_1"}
    assert created.status == "PENDING" and created.expires_in == "00:15:00"
    assert created.redirect == f"{gateway.url}/pay/{created.id}"


def test_status_reads_amount_currency_and_payload(gateway):
    client = client_for(gateway)
    created = create(client, 450)
    gateway.set_status(created.id, "CONFIRMED")
    seen = client.get_transaction(created.id)
    assert (seen.id, seen.status, seen.amount, seen.currency, seen.payload) == (
        created.id, "CONFIRMED", Decimal(450), "RUB", "inv_1")
    assert gateway.requests[-1]["headers"]["X-Secret"] == "s-1"


def test_transient_failures_are_retried_with_the_same_call(gateway):
    client = client_for(gateway)
    created = create(client)
    gateway.fail_next("GET", "^/transaction/", status=502, times=2)
    assert client.get_transaction(created.id).status == "PENDING"
    assert len(gateway.calls_to("GET", f"^/transaction/{created.id}$")) == 3


def test_retries_run_out_with_a_transient_error(gateway):
    client = client_for(gateway, retries=1)
    created = create(client)
    gateway.fail_next("GET", "^/transaction/", status=503, times=5)
    with pytest.raises(TransientRemoteError, match="Platega answered 503"):
        client.get_transaction(created.id)
    assert len(gateway.calls_to("GET", "^/transaction/")) == 2


def test_a_timeout_is_transient_and_retried(gateway):
    client = client_for(gateway, timeout=0.3, retries=1)
    created = create(client)
    gateway.delay_next("^/transaction/", 1.0)
    assert client.get_transaction(created.id).status == "PENDING"  # the retry got through


def test_refusals_are_permanent_and_not_retried(gateway):
    client = PlategaClient(gateway.url, "m-1", "wrong", timeout=2, retries=3, backoff=0)
    with pytest.raises(PermanentRemoteError, match="401"):
        create(client)
    assert len(gateway.calls_to("POST", "^/transaction/process$")) == 1


def test_an_unknown_transaction_is_its_own_error(gateway):
    with pytest.raises(GatewayUnknownTransaction):
        client_for(gateway).get_transaction("00000000-0000-0000-0000-000000000000")


@pytest.mark.parametrize("answer, message", [
    ({"status": "PAID?"}, "unknown status"), ({"id": "x"}, "unknown status"), ([1, 2], "a JSON list, not an object"),
    (None, "not an object"),
])
def test_odd_answers_become_clear_errors(gateway, answer, message):
    client = client_for(gateway, retries=0)
    created = create(client)
    gateway.route = lambda *args: Reply(200, answer)
    with pytest.raises(PermanentRemoteError, match=message):
        client.get_transaction(created.id)


def test_a_create_answer_without_an_id_is_permanent(gateway):
    gateway.route = lambda *args: Reply(200, {"status": "PENDING", "redirect": "https://pay.example/1"})
    with pytest.raises(PermanentRemoteError, match="without a transactionId"):
        create(client_for(gateway))


def test_the_gateway_down_is_transient_and_names_the_url():
    with pytest.raises(TransientRemoteError, match="cannot reach Platega at http://127.0.0.1:9"):
        PlategaClient("http://127.0.0.1:9", "m", "s", timeout=1, retries=0).get_transaction("x")


def test_ids_are_checked_and_quoted(gateway):
    client = client_for(gateway)
    with pytest.raises(PermanentRemoteError):
        client.get_transaction("")
    with pytest.raises(GatewayUnknownTransaction):
        client.get_transaction("../process")
    assert gateway.calls_to("GET", "^/transaction/../process$")  # sent as one quoted segment


def test_a_bad_url_is_refused():
    with pytest.raises(ValueError):
        PlategaClient("ftp://example", "m", "s")
