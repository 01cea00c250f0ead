"""POST /create_invoice: the exact request Platega gets, the PENDING ledger row, and every refusal."""
import secrets

import pytest
from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import Invoice, Transaction
from tests.payments.conftest import MERCHANT_ID, SECRET


def test_an_invoice_is_a_pending_ledger_row_with_the_gateways_id(client, customer, platega):
    response = client.post("/create_invoice", json={"amount": 500})
    assert response.status_code == 201
    answer = response.json
    assert set(answer) == {"status", "transaction_id", "redirect", "amount"}
    assert answer["status"] == "created" and answer["amount"] == 500
    assert answer["redirect"] == f"{platega.url}/pay/{answer['transaction_id']}"

    (sent,) = platega.requests
    assert sent["method"] == "POST" and sent["path"] == "/transaction/process"
    assert sent["headers"]["X-MerchantId"] == MERCHANT_ID and sent["headers"]["X-Secret"] == SECRET
    invoice = db.session.scalar(select(Invoice))
    own_page = f"http://localhost/topup/return/{invoice.reference}"
    assert sent["body"] == {"paymentMethod": 2, "paymentDetails": {"amount": 500, "currency": "RUB"},
                            "description": "Пополнение баланса Oxnack (payer) на 500 ₽",
                            "return": own_page, "failedUrl": own_page, "payload": invoice.reference}

    row = db.session.get(Transaction, invoice.ledger_row_id)
    assert (row.type, row.status, row.amount, row.transaction_id, row.user_id, row.username) == (
        "add_balance", "PENDING", 500, answer["transaction_id"], customer.id, "payer")
    db.session.refresh(customer)
    assert customer.balance == 0  # nothing credited before the gateway confirms


def test_method_and_configured_return_urls_are_sent(client, customer, platega, pay_config):
    pay_config(PLATEGA_RETURN_URL="https://oxnack.example/paid", PLATEGA_FAILED_URL="https://oxnack.example/failed")
    assert client.post("/create_invoice", json={"amount": 10, "method": 11}).status_code == 201
    body = platega.requests[0]["body"]
    assert body["paymentMethod"] == 11 and body["paymentDetails"]["amount"] == 10
    assert body["return"] == "https://oxnack.example/paid" and body["failedUrl"] == "https://oxnack.example/failed"


@pytest.mark.parametrize("body", [
    {"amount": 9}, {"amount": 100001}, {"amount": 0}, {"amount": -50}, {"amount": 10.5}, {"amount": "100"},
    {"amount": True}, {"amount": None}, {}, {"amount": [100]}, {"amount": 10 ** 30}, {"amount": float("nan")},
], ids=["below-min", "above-max", "zero", "negative", "fraction", "string", "bool", "null", "missing", "list",
        "huge", "nan"])
def test_bad_amounts_are_400_and_nothing_is_recorded(client, customer, platega, body):
    response = client.post("/create_invoice", json=body)
    assert response.status_code == 400 and response.json == {"status": "error", "message": "bad amount"}
    assert platega.requests == []
    assert db.session.scalar(select(func.count(Transaction.id)).where(Transaction.type == "add_balance")) == 0


@pytest.mark.parametrize("raw, content_type", [
    (b"not json", "application/json"), (b"[1, 2]", "application/json"), (b"", "application/json"),
    (b'{"amount": 100', "text/plain"), (b"\xff\xfe", "application/json"),
])
def test_bodies_that_are_not_json_objects_are_400(client, customer, platega, raw, content_type):
    response = client.post("/create_invoice", data=raw, content_type=content_type)
    assert response.status_code == 400 and response.json["status"] == "error"


def test_edges_of_the_range_and_a_whole_float_are_accepted(client, customer, platega):
    for amount in (10, 100000, 250.0):
        assert client.post("/create_invoice", json={"amount": amount}).status_code == 201
    assert [r["body"]["paymentDetails"]["amount"] for r in platega.requests] == [10, 100000, 250]


@pytest.mark.parametrize("method", ["2", -1, 0, 2.5, True, 10 ** 6])
def test_a_bad_method_is_400(client, customer, platega, method):
    response = client.post("/create_invoice", json={"amount": 100, "method": method})
    assert response.status_code == 400 and response.json == {"status": "error", "message": "bad method"}


def test_signed_out_is_401_unlogin(client, platega):
    response = client.post("/create_invoice", json={"amount": 100})
    assert response.status_code == 401 and response.json == {"status": "error", "message": "unlogin"}
    assert platega.requests == []


def test_a_huge_body_is_413_in_shape(client, customer, platega):
    response = client.post("/create_invoice", data=b'{"amount": 100, "x": "' + b"a" * (2 * 1024 * 1024) + b'"}',
                           content_type="application/json")
    assert response.status_code == 413 and response.json["status"] == "error"


def test_wrong_method_is_405_in_shape(client, customer):
    response = client.get("/create_invoice")
    assert response.status_code == 405 and response.json["status"] == "error"


def assert_nothing_recorded():
    assert db.session.scalar(select(func.count(Transaction.id))) == 0
    assert db.session.scalar(select(func.count(Invoice.id))) == 0


def test_gateway_down_is_502_and_leaves_nothing(client, customer, platega):
    platega.stop()
    response = client.post("/create_invoice", json={"amount": 100})
    assert response.status_code == 502
    assert response.json == {"status": "error", "message": "payment gateway unavailable"}
    assert_nothing_recorded()


def test_gateway_errors_are_retried_then_502(client, customer, platega):
    platega.fail_next("POST", "^/transaction/process$", status=503, times=3)  # 1 try + 2 retries, all fail
    assert client.post("/create_invoice", json={"amount": 100}).status_code == 502
    assert len(platega.calls_to("POST", "^/transaction/process$")) == 3
    assert_nothing_recorded()


def test_a_transient_error_then_success_creates_one_invoice(client, customer, platega):
    platega.fail_next("POST", "^/transaction/process$", status=500, times=1)
    assert client.post("/create_invoice", json={"amount": 100}).status_code == 201
    assert db.session.scalar(select(func.count(Invoice.id))) == 1


def test_a_gateway_timeout_is_502(client, customer, platega, pay_config):
    pay_config(PLATEGA_TIMEOUT=0.3, PLATEGA_RETRIES=0)
    platega.delay_next("^/transaction/process$", 1.5)
    assert client.post("/create_invoice", json={"amount": 100}).status_code == 502
    assert_nothing_recorded()


def test_refused_credentials_are_502_and_not_retried(client, customer, platega, pay_config):
    pay_config(PLATEGA_SECRET=secrets.token_hex(16))  # not the merchant's
    assert client.post("/create_invoice", json={"amount": 100}).status_code == 502
    assert len(platega.calls_to("POST", "^/transaction/process$")) == 1
    assert_nothing_recorded()


def test_unconfigured_gateway_is_502_without_a_call(client, customer, platega, pay_config):
    pay_config(PLATEGA_MERCHANT_ID="")
    assert client.post("/create_invoice", json={"amount": 100}).status_code == 502
    assert platega.calls == []
    assert_nothing_recorded()


def test_a_gateway_answer_without_an_id_is_502(client, customer, platega, monkeypatch):
    platega.route = lambda method, path, params, headers: __import__(
        "oxnack_admin.simulator", fromlist=["Reply"]).Reply(200, {"status": "PENDING"})
    assert client.post("/create_invoice", json={"amount": 100}).status_code == 502
    assert_nothing_recorded()


def test_create_invoice_is_rate_limited_per_account(app, database_url, redis_url, customer):
    from oxnack_admin import create_app
    from tests.conftest import make_test_config
    from tests.support.customers import sign_in

    limited = create_app(make_test_config(database_url, redis_url, RATELIMIT_ENABLED=True,
                                          RATELIMIT_INVOICE="2/minute")).test_client()
    limited.set_cookie("session_id", sign_in(customer))
    statuses = [limited.post("/create_invoice", json={"amount": 1},
                             environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}).status_code for n in range(3)]
    assert statuses[:2] == [400, 400] and statuses[2] == 429
