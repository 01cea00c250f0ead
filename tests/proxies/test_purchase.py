"""Buying proxies: the contract's answers, no double spend under concurrency, money back on every failure."""
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from sqlalchemy import func, select

from jobs.maintenance import sweep
from oxnack_admin.clients.socks_upstream import SocksUpstreamClient
from oxnack_admin.extensions import db
from oxnack_admin.models import ProxyInventory, ProxyOrder, Transaction
from oxnack_admin.services.proxies import outcome, purchase as purchases
from tests.proxies.conftest import PRICE_RUB, assert_ledger_balanced, balance, customer, http
from tests.support.customers import login_cookie

PURCHASE = "/api/external-proxy/purchase"


def ledger_rows(user_id: int, kind: str | None = None) -> list[Transaction]:
    query = select(Transaction).where(Transaction.user_id == user_id)
    if kind:
        query = query.where(Transaction.type == kind)
    return list(db.session.scalars(query.order_by(Transaction.id)))


def inventory(product_id: int) -> ProxyInventory:
    db.session.expire_all()
    return db.session.get(ProxyInventory, product_id)


def test_a_purchase_debits_price_times_rate_and_answers_the_credentials(client, upstream, stock):
    product = stock(1, "DE")[0]
    user, _ = customer(Decimal("500.00"))
    login_cookie(client, user)

    response = client.post(PURCHASE, json={"product_id": product.id})

    assert response.status_code == 200, response.json
    body = response.json
    bought = upstream.purchases()
    assert len(bought) == 1 and bought[0]["proxy_id"] == product.upstream_id
    assert body["proxy_id"] == product.upstream_id and body["price"] == 2 and body["price_rub"] == 180
    assert body["credentials"] == {"ip": bought[0]["server_ip"], "port": bought[0]["server_listening_port"],
                                   "login": bought[0]["username"], "password": bought[0]["password"],
                                   "country": "Germany", "ISP": product.isp}
    assert body["refundable"] is True and body["expires_at"].endswith("Z")
    assert balance(user.id) == Decimal("320.00")
    assert [(row.type, row.amount) for row in ledger_rows(user.id, "proxy_purchase")] == [("proxy_purchase", -PRICE_RUB)]
    assert inventory(product.id).sold and not inventory(product.id).on_sale

    listed = client.get("/api/external-proxy/orders").json["orders"]
    assert [o["order_id"] for o in listed] == [body["order_id"]] and listed[0]["credentials"]["password"]
    # Sold: gone from the list, and a second buy is refused before any money moves.
    assert client.get("/api/external-proxy/list").json["total"] == 0
    again = client.post(PURCHASE, json={"product_id": product.id})
    assert again.status_code == 409 and again.json == {"status": "error", "message": "proxy is no longer on sale"}
    assert balance(user.id) == Decimal("320.00")
    assert_ledger_balanced()


def test_small_balance_unknown_product_bad_body_and_no_session(client, upstream, stock):
    product = stock(1)[0]
    user, _ = customer(Decimal("179.99"))
    assert client.post(PURCHASE, json={"product_id": product.id}).status_code == 401
    login_cookie(client, user)
    poor = client.post(PURCHASE, json={"product_id": product.id})
    assert poor.status_code == 402 and poor.json == {"status": "error", "message": "small balance"}
    assert client.post(PURCHASE, json={"product_id": 999999}).status_code == 404
    for body in ({}, {"product_id": "x"}, {"product_id": -1}, {"product_id": 1.5}, {"product_id": True}, [1]):
        answer = client.post(PURCHASE, json=body)
        assert answer.status_code == 400 and answer.json["status"] == "error", body
    assert client.post(PURCHASE, data="not json", content_type="application/json").status_code == 400
    assert upstream.purchases() == [] and inventory(product.id).on_sale
    assert balance(user.id) == Decimal("179.99")
    assert_ledger_balanced()


def test_each_upstream_refusal_gives_the_money_back_once(client, upstream, stock):
    products = stock(4)
    user, _ = customer(Decimal("1000.00"))
    login_cookie(client, user)

    upstream.fail_next("GET", r"/proxy/buy$", 403)  # our balance at the upstream
    low = client.post(PURCHASE, json={"product_id": products[0].id})
    upstream.fail_next("GET", r"/proxy/buy$", 503)  # the proxy's server failed
    failed = client.post(PURCHASE, json={"product_id": products[1].id})
    upstream.remove_proxy(products[2].upstream_id)  # gone: the upstream answers 404
    gone = client.post(PURCHASE, json={"product_id": products[2].id})
    upstream.fail_next("GET", r"/proxy/buy$", 401)  # any other refusal
    refused = client.post(PURCHASE, json={"product_id": products[3].id})

    for answer in (low, failed, gone, refused):
        assert answer.status_code == 502 and answer.json["status"] == "error"
        assert "the money is back" in answer.json["message"]
    assert balance(user.id) == Decimal("1000.00")
    refunds = ledger_rows(user.id, "refund")
    assert len(refunds) == 4 and all(row.amount == PRICE_RUB for row in refunds)
    assert len(ledger_rows(user.id, "proxy_purchase")) == 4
    states = {o.inventory_id: o.state for o in db.session.scalars(select(ProxyOrder))}
    assert set(states.values()) == {"failed"}
    assert inventory(products[0].id).on_sale  # 403 is about us, the proxy is fine
    assert not inventory(products[1].id).on_sale and not inventory(products[1].id).sold  # 503: off sale
    assert not inventory(products[2].id).on_sale  # 404: gone
    assert inventory(products[3].id).on_sale
    assert upstream.purchases() == []
    # Settling again (a sweep, a retry) moves nothing more.
    for order in db.session.scalars(select(ProxyOrder)).all():
        outcome.fail(order.id, "again", outcome.OFF_SALE)
    assert balance(user.id) == Decimal("1000.00")
    assert_ledger_balanced()


def test_a_buy_the_upstream_completes_after_the_money_went_back_is_flagged_for_staff(client, upstream, stock,
                                                                                   settings):
    product, other = stock(2)
    user, _ = customer(Decimal("1000.00"))
    login_cookie(client, user)
    settings(SOCKS_API_TIMEOUT=0.5)
    upstream.delay_next(r"/proxy/buy$", 1.2)  # the upstream buys, but only after we gave up and read the bought list
    lost = client.post(PURCHASE, json={"product_id": product.id})
    upstream.fail_next("GET", r"/proxy/buy$", 500)  # an error page: nothing bought
    broken = client.post(PURCHASE, json={"product_id": other.id})

    assert lost.status_code == broken.status_code == 502
    assert "the money is back" in lost.json["message"] and "the money is back" in broken.json["message"]
    assert balance(user.id) == Decimal("1000.00")  # settled before answering, not minutes later
    assert len(upstream.calls_to("GET", r"/proxy/buy$")) == 2  # a buy is never repeated on its own
    assert not inventory(product.id).on_sale  # it may be sold after all: never offered again meanwhile
    time.sleep(1.0)  # the delayed buy completes at the upstream

    sweep()

    orders = {o.inventory_id: o for o in db.session.scalars(select(ProxyOrder).execution_options(populate_existing=True))}
    bought = upstream.purchases()
    assert [p["proxy_id"] for p in bought] == [product.upstream_id]
    assert orders[product.id].state == "flagged" and orders[product.id].upstream_credentials_id == bought[0]["credentials_id"]
    assert orders[other.id].state == "failed"
    assert balance(user.id) == Decimal("1000.00")  # the customer's money stays back; staff decide on the sale
    listed = {o["order_id"]: o for o in client.get("/api/external-proxy/orders").json["orders"]}
    assert listed[orders[product.id].id]["credentials"]["password"] is None
    sweep()  # nothing more to find: nothing moves
    assert balance(user.id) == Decimal("1000.00")
    assert_ledger_balanced()


def test_a_crash_between_the_debit_and_the_buy_is_settled_by_the_sweep(app, upstream, stock, settings):
    """The process dies after step 1 (reserve + debit committed): one order the upstream sold, one it never saw."""
    sold_upstream, never_bought = stock(2)
    sold_upstream_id, never_bought_id = sold_upstream.upstream_id, never_bought.id
    user, _ = customer(Decimal("1000.00"))
    user_id, first_id = user.id, purchases.reserve(user.id, sold_upstream.id, None)[0].id
    second_id = purchases.reserve(user_id, never_bought.id, None)[0].id
    # The first process got as far as the upstream's buy before dying; the second did not.
    SocksUpstreamClient(upstream.api_url, upstream.token).buy(sold_upstream_id)
    db.session.remove()
    assert balance(user_id) == Decimal("1000.00") - 2 * PRICE_RUB

    sweep()  # too young to settle: a live request may still be waiting on the upstream
    assert db.session.get(ProxyOrder, first_id).state == "pending"
    settings(SOCKS_SETTLE_AFTER_MINUTES=0)
    sweep()

    db.session.expire_all()
    assert db.session.get(ProxyOrder, first_id).state == "active"
    assert db.session.get(ProxyOrder, first_id).login == upstream.purchases()[0]["username"]
    assert db.session.get(ProxyOrder, second_id).state == "failed"
    assert balance(user_id) == Decimal("1000.00") - PRICE_RUB
    assert not inventory(never_bought_id).sold
    assert_ledger_balanced()


def test_the_sweep_leaves_pending_orders_alone_while_the_upstream_is_down(app, upstream, stock, settings):
    product = stock(1)[0]
    user, _ = customer(Decimal("200.00"))
    order, _ = purchases.reserve(user.id, product.id, None)
    settings(SOCKS_SETTLE_AFTER_MINUTES=0)
    upstream.fail_next("GET", r"/proxy/bought$", 502, times=2)  # the first try and its retry
    sweep()
    db.session.expire_all()
    assert db.session.get(ProxyOrder, order.id).state == "pending"
    assert balance(user.id) == Decimal("20.00")
    sweep()
    assert db.session.get(ProxyOrder, order.id).state == "failed" and balance(user.id) == Decimal("200.00")
    assert_ledger_balanced()


def test_twenty_concurrent_purchases_by_a_customer_who_can_afford_three(app, live, upstream, stock):
    products = stock(20)
    user, token = customer(3 * PRICE_RUB + Decimal("10.00"))
    session = http(live, token)

    def buy(product_id):
        return session.post(live + PURCHASE, json={"product_id": product_id}, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(buy, [p.id for p in products]))

    assert sorted(codes) == [200] * 3 + [402] * 17, codes
    assert balance(user.id) == Decimal("10.00")
    assert db.session.scalar(select(func.count(ProxyOrder.id)).where(ProxyOrder.state == "active")) == 3
    assert db.session.scalar(select(func.count(ProxyOrder.id))) == 3
    assert len(upstream.purchases()) == 3
    assert len(ledger_rows(user.id, "proxy_purchase")) == 3
    assert_ledger_balanced()


def test_two_customers_racing_for_one_proxy_one_order_the_other_not_charged(app, live, upstream, stock):
    product_id = stock(1)[0].id
    racers = [customer(Decimal("500.00")) for _ in range(2)]

    def buy(token):
        return http(live, token).post(live + PURCHASE, json={"product_id": product_id}, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = list(pool.map(buy, [token for _, token in racers]))
    assert sorted(codes) == [200, 409], codes
    assert db.session.scalar(select(func.count(ProxyOrder.id))) == 1
    balances = sorted(balance(user.id) for user, _ in racers)
    assert balances == [Decimal("320.00"), Decimal("500.00")]
    loser = next(user for user, _ in racers if balance(user.id) == Decimal("500.00"))
    assert ledger_rows(loser.id, "proxy_purchase") == []
    assert len(upstream.purchases()) == 1
    assert_ledger_balanced()


def test_an_idempotency_key_returns_the_same_order_and_charges_once(app, client, live, upstream, stock):
    products = stock(3)
    user, token = customer(Decimal("1000.00"))
    login_cookie(client, user)
    headers = {"Idempotency-Key": "order-7f3a"}

    first = client.post(PURCHASE, json={"product_id": products[0].id}, headers=headers)
    repeat = client.post(PURCHASE, json={"product_id": products[0].id}, headers=headers)
    assert first.status_code == repeat.status_code == 200 and first.json == repeat.json
    assert balance(user.id) == Decimal("1000.00") - PRICE_RUB

    session, second_id = http(live, token), products[1].id

    def buy(_):  # a double-clicked button: five identical requests at once
        return session.post(live + PURCHASE, json={"product_id": second_id},
                            headers={"Idempotency-Key": "click-1"}, timeout=30)

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(buy, range(5)))
    done = [a for a in answers if a.status_code == 200]
    assert done and {a.json()["order_id"] for a in done} == {done[0].json()["order_id"]}
    assert [a.status_code for a in answers] == [200] * 5  # a repeat in flight waits for the first
    assert balance(user.id) == Decimal("1000.00") - 2 * PRICE_RUB
    assert len(upstream.purchases()) == 2
    assert client.post(PURCHASE, json={"product_id": products[2].id}, headers={"Idempotency-Key": "x" * 201}).status_code == 400
    # A failed purchase repeated with its key: the same refusal, no second debit.
    upstream.fail_next("GET", r"/proxy/buy$", 503)
    failed = client.post(PURCHASE, json={"product_id": products[2].id}, headers={"Idempotency-Key": "k3"})
    again = client.post(PURCHASE, json={"product_id": products[2].id}, headers={"Idempotency-Key": "k3"})
    assert failed.status_code == again.status_code == 502 and failed.json == again.json
    assert balance(user.id) == Decimal("1000.00") - 2 * PRICE_RUB
    assert len(ledger_rows(user.id, "proxy_purchase")) == 3
    assert_ledger_balanced()
