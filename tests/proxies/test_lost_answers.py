"""A buy whose answer is lost (an error page, a hang, a reset) is settled before the customer hears back."""
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import select

from jobs.maintenance import sweep
from oxnack_admin.extensions import db
from oxnack_admin.models import ProxyOrder, Transaction
from tests.proxies.conftest import PRICE_RUB, assert_ledger_balanced, balance, customer, http
from tests.support.customers import login_cookie

PURCHASE, ORDERS = "/api/external-proxy/purchase", "/api/external-proxy/orders"
HIDDEN = {"ip": None, "port": None, "login": None, "password": None}


def rows(user_id: int, kind: str) -> list[Transaction]:
    return list(db.session.scalars(select(Transaction).where(Transaction.user_id == user_id, Transaction.type == kind)))


def the_order() -> ProxyOrder:
    return db.session.scalars(select(ProxyOrder).execution_options(populate_existing=True)).one()


@pytest.mark.parametrize("how", ["500", "hang", "reset"])
def test_a_lost_answer_with_nothing_bought_answers_502_with_the_money_back(client, upstream, stock, settings, how):
    product = stock(1)[0]
    user, _ = customer(Decimal("500.00"))
    login_cookie(client, user)
    settings(SOCKS_API_TIMEOUT=0.5)
    upstream.break_next_buy(how, bought=False, seconds=1.5)

    answer = client.post(PURCHASE, json={"product_id": product.id})

    assert answer.status_code == 502, answer.json
    assert answer.json["status"] == "error" and "the money is back" in answer.json["message"]
    assert balance(user.id) == Decimal("500.00")
    assert [row.amount for row in rows(user.id, "refund")] == [PRICE_RUB]
    assert the_order().state == "failed"
    assert upstream.purchases() == [] and len(upstream.calls_to("GET", r"/proxy/buy$")) == 1
    assert len(upstream.calls_to("GET", r"/proxy/bought$")) == 1  # asked before answering
    assert_ledger_balanced()


@pytest.mark.parametrize("how", ["500", "hang", "reset"])
def test_a_lost_answer_of_a_proxy_that_was_sold_answers_200_with_its_credentials(client, upstream, stock, settings,
                                                                                  how):
    product = stock(1)[0]
    user, _ = customer(Decimal("500.00"))
    login_cookie(client, user)
    settings(SOCKS_API_TIMEOUT=0.5)
    upstream.break_next_buy(how, bought=True, seconds=1.5)

    answer = client.post(PURCHASE, json={"product_id": product.id})

    assert answer.status_code == 200, answer.json
    sold = upstream.purchases()
    assert len(sold) == 1 and len(upstream.calls_to("GET", r"/proxy/buy$")) == 1
    assert answer.json["credentials"]["login"] == sold[0]["username"]
    assert answer.json["credentials"]["password"] == sold[0]["password"]
    order = the_order()
    assert order.state == "active" and order.upstream_credentials_id == sold[0]["credentials_id"]
    assert balance(user.id) == Decimal("500.00") - PRICE_RUB and rows(user.id, "refund") == []
    assert_ledger_balanced()


def test_an_unreadable_bought_list_answers_a_pending_order_that_the_sweep_settles(client, upstream, stock, settings):
    product = stock(1)[0]
    user, _ = customer(Decimal("500.00"))
    login_cookie(client, user)
    upstream.break_next_buy("500", bought=False)
    upstream.fail_next("GET", r"/proxy/bought$", 502, times=2)  # the read and its retry

    answer = client.post(PURCHASE, json={"product_id": product.id})

    assert answer.status_code == 202, answer.json
    assert answer.json["status"] == "pending" and answer.json["state"] == "pending" and answer.json["message"]
    assert {k: answer.json["credentials"][k] for k in HIDDEN} == HIDDEN
    listed = client.get(ORDERS).json["orders"]
    assert [(o["order_id"], o["state"]) for o in listed] == [(answer.json["order_id"], "pending")]
    assert balance(user.id) == Decimal("500.00") - PRICE_RUB  # paid while the outcome is unknown, and shown so

    settings(SOCKS_SETTLE_AFTER_MINUTES=0)
    sweep()

    assert [o["state"] for o in client.get(ORDERS).json["orders"]] == ["failed"]
    assert balance(user.id) == Decimal("500.00")
    assert_ledger_balanced()


def test_five_purchases_at_once_with_one_key_all_get_the_one_order(app, live, upstream, stock):
    product_id = stock(1)[0].id
    user, token = customer(Decimal("1000.00"))
    session = http(live, token)
    upstream.delay_next(r"/proxy/buy$", 0.5)  # the first buy is in flight while the repeats arrive

    def buy(_):  # a double-clicked button: five identical requests at once
        return session.post(live + PURCHASE, json={"product_id": product_id},
                            headers={"Idempotency-Key": "click-1"}, timeout=30)

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(buy, range(5)))

    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1  # the same order, the same answer
    assert balance(user.id) == Decimal("1000.00") - PRICE_RUB
    assert len(rows(user.id, "proxy_purchase")) == 1
    assert len(upstream.purchases()) == 1 and len(upstream.calls_to("GET", r"/proxy/buy$")) == 1
    assert_ledger_balanced()


def test_a_repeat_of_a_purchase_still_pending_answers_the_same_pending_order(client, upstream, stock, settings):
    product = stock(1)[0]
    user, _ = customer(Decimal("500.00"))
    login_cookie(client, user)
    settings(SOCKS_API_TIMEOUT=0.5)
    upstream.break_next_buy("reset", bought=False)
    upstream.fail_next("GET", r"/proxy/bought$", 502, times=2)
    headers = {"Idempotency-Key": "k-pending"}

    first = client.post(PURCHASE, json={"product_id": product.id}, headers=headers)
    repeat = client.post(PURCHASE, json={"product_id": product.id}, headers=headers)

    assert first.status_code == repeat.status_code == 202, (first.json, repeat.json)
    assert first.json == repeat.json
    assert balance(user.id) == Decimal("500.00") - PRICE_RUB and len(rows(user.id, "proxy_purchase")) == 1
    assert len(upstream.calls_to("GET", r"/proxy/buy$")) == 1
    assert_ledger_balanced()
