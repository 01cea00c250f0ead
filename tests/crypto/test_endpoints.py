"""POST /create_crypto_invoice and GET /crypto_invoice exactly as the contract; the sweep export."""
from datetime import datetime
from decimal import Decimal

import pytest

from oxnack_admin.services.crypto import addresses
from tests.crypto.conftest import XPUB
from tests.support.customers import login_cookie
from tests.support.factories import make_user


def test_create_answers_the_address_quote_and_expiry(client, customer, chain):
    answer = client.post("/create_crypto_invoice", json={"amount": 1000, "asset": "USDT"})
    assert answer.status_code == 201
    body = answer.json
    assert set(body) == {"status", "invoice_id", "asset", "address", "amount_asset", "rate", "expires_at"}
    assert (body["status"], body["asset"], body["amount_asset"], body["rate"]) == ("created", "USDT", "10.810811", "92.5")
    assert body["address"] == addresses.address_at(XPUB, int(_index_of(body["address"])))
    assert datetime.fromisoformat(body["expires_at"]).utcoffset().total_seconds() == 0
    second = client.post("/create_crypto_invoice", json={"amount": 610, "asset": "BNB"}).json
    assert second["address"] != body["address"] and second["amount_asset"] == "0.01"


def _index_of(address: str) -> int:
    return next(i for i in range(100) if addresses.address_at(XPUB, i) == address)


@pytest.mark.parametrize("body, message", [
    ({"amount": 5, "asset": "USDT"}, "bad amount"), ({"amount": "100", "asset": "USDT"}, "bad amount"),
    ({"amount": 100.5, "asset": "BNB"}, "bad amount"), ({"amount": 100, "asset": "BTC"}, "bad asset"),
    ({"amount": 100}, "bad asset"), ([1, 2], "bad amount")])
def test_bad_bodies_are_400_in_the_classic_shape(client, customer, chain, body, message):
    answer = client.post("/create_crypto_invoice", json=body)
    assert (answer.status_code, answer.json) == (400, {"status": "error", "message": message})


def test_signed_out_is_401(client, chain):
    for answer in (client.post("/create_crypto_invoice", json={"amount": 100, "asset": "USDT"}),
                   client.get("/crypto_invoice?invoice_id=1")):
        assert (answer.status_code, answer.json) == (401, {"status": "error", "message": "unlogin"})


@pytest.mark.parametrize("fault", ["off", "node down", "rates down", "wrong chain", "xpub missing"])
def test_unavailable_is_503_and_hands_out_no_address(client, customer, chain, fault):
    if fault == "off":
        chain.set_config(CRYPTO_RPC_URL="")
    elif fault == "node down":
        chain.go_down()
    elif fault == "rates down":
        chain.rates_down = True
    elif fault == "wrong chain":
        chain.chain_id = 1
    else:
        chain.set_config(CRYPTO_XPUB="")
    answer = client.post("/create_crypto_invoice", json={"amount": 100, "asset": "USDT"})
    assert (answer.status_code, answer.json) == (503, {"status": "error", "message": "crypto payments unavailable"})


def test_get_answers_the_invoice_and_404_for_unknown_or_foreign(client, customer, chain, open_crypto, app):
    invoice = open_crypto(925, "USDT")
    body = client.get(f"/crypto_invoice?invoice_id={invoice.id}").json
    assert body == {"status": "good", "invoice_id": invoice.id, "asset": "USDT", "address": invoice.address,
                    "amount_asset": "10", "received_asset": "0", "credited": "0.00", "state": "waiting",
                    "expires_at": body["expires_at"]}
    for query in ("invoice_id=999999", "invoice_id=abc", ""):
        answer = client.get(f"/crypto_invoice?{query}")
        assert answer.status_code == 404 and answer.json["status"] == "error"
    with app.test_client() as other:
        login_cookie(other, make_user("other@example.com"))
        assert other.get(f"/crypto_invoice?invoice_id={invoice.id}").status_code == 404


def test_crypto_addresses_exports_every_address_for_the_sweep(runner, chain, open_crypto):
    first, second = open_crypto(925, "USDT"), open_crypto(610, "BNB")
    lines = runner.invoke(args=["crypto-addresses"]).output.splitlines()
    assert lines == ["index,address,invoice_id", f"{first.address_index},{first.address},{first.id}",
                     f"{second.address_index},{second.address},{second.id}"]
    assert second.address_index == first.address_index + 1
    assert Decimal(second.amount_asset) == Decimal("0.01")
