"""Refunds: buyer only, inside the window, only when offline, once under concurrency, the upstream called once."""
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import ProxyOrder, Transaction
from tests.proxies.conftest import PRICE_RUB, assert_ledger_balanced, balance, customer, http
from tests.support.customers import login_cookie

REFUND = "/api/external-proxy/refund"


def bought(client, upstream, stock, start=Decimal("500.00")):
    """A signed-in customer on `client` with one active order; returns (user, order id, upstream proxy id)."""
    product = stock(1)[0]
    user, _ = customer(start)
    login_cookie(client, user)
    answer = client.post("/api/external-proxy/purchase", json={"product_id": product.id})
    assert answer.status_code == 200, answer.json
    return user, answer.json["order_id"], answer.json["proxy_id"]


def refund_rows(user_id: int) -> list[Transaction]:
    return list(db.session.scalars(select(Transaction).where(Transaction.user_id == user_id,
                                                             Transaction.type == "proxy_refund")))


def test_an_offline_proxy_is_refunded_once_to_its_buyer(client, upstream, stock):
    user, order_id, proxy_id = bought(client, upstream, stock)
    upstream.set_status(proxy_id, 0)

    answer = client.post(REFUND, json={"order_id": order_id})

    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "success" and answer.json["refund_amount"] == 180 and answer.json["message"]
    assert balance(user.id) == Decimal("500.00")
    assert [row.amount for row in refund_rows(user.id)] == [PRICE_RUB]
    assert [p["refunded"] for p in upstream.purchases()] == [True]
    order = db.session.get(ProxyOrder, order_id)
    assert order.state == "refunded" and order.refund_amount == PRICE_RUB and order.refunded_at
    again = client.post(REFUND, json={"order_id": order_id})
    assert again.status_code == 409 and again.json == {"status": "error", "message": "already refunded"}
    assert len(upstream.calls_to("POST", r"/proxy/refund$")) == 1
    listed = client.get("/api/external-proxy/orders").json["orders"][0]
    assert listed["state"] == "refunded" and listed["refundable"] is False
    assert_ledger_balanced()


def test_each_refusal_has_its_own_answer(client, app, upstream, stock, settings):
    user, order_id, proxy_id = bought(client, upstream, stock)

    online = client.post(REFUND, json={"order_id": order_id})
    assert online.status_code == 422 and online.json["message"] == "the proxy is still online"

    assert client.post(REFUND, json={"order_id": 424242}).status_code == 404
    assert client.post(REFUND, json={}).status_code == 400
    assert client.post(REFUND, json={"order_id": "abc"}).status_code == 400

    stranger, _ = customer(Decimal(0))
    login_cookie(client, stranger)
    foreign = client.post(REFUND, json={"order_id": order_id})
    assert foreign.status_code == 404 and foreign.json == {"status": "error", "message": "order not found"}
    login_cookie(client, user)

    upstream.set_status(proxy_id, 0)
    upstream.fail_next("POST", r"/proxy/check-refundable$", 502, times=2)
    down = client.post(REFUND, json={"order_id": order_id})
    assert down.status_code == 502 and "unavailable" in down.json["message"]

    upstream.fail_next("POST", r"/proxy/refund$", 400)  # the upstream says no at the last moment
    refused = client.post(REFUND, json={"order_id": order_id})
    assert refused.status_code == 422 and refused.json["message"].startswith("the upstream refuses the refund")
    assert db.session.get(ProxyOrder, order_id).state == "active"  # released: may be asked again

    order = db.session.get(ProxyOrder, order_id)
    order.created_at = datetime.now(timezone.utc) - timedelta(minutes=61)
    db.session.commit()
    late = client.post(REFUND, json={"order_id": order_id})
    assert late.status_code == 422 and late.json["message"].startswith("too late")

    assert balance(user.id) == Decimal("320.00") and refund_rows(user.id) == []
    assert upstream.purchases()[0]["refunded"] is False
    assert_ledger_balanced()


def test_a_lost_refund_answer_flags_the_order_instead_of_guessing(client, upstream, stock, settings):
    user, order_id, proxy_id = bought(client, upstream, stock)
    upstream.set_status(proxy_id, 0)
    settings(SOCKS_API_TIMEOUT=0.5)
    upstream.delay_next(r"/proxy/refund$", 1.0)

    answer = client.post(REFUND, json={"order_id": order_id})

    assert answer.status_code == 502 and "staff will check" in answer.json["message"]
    db.session.expire_all()
    assert db.session.get(ProxyOrder, order_id).state == "flagged"
    assert balance(user.id) == Decimal("320.00")
    assert client.post(REFUND, json={"order_id": order_id}).status_code == 422
    assert_ledger_balanced()


def test_ten_concurrent_refunds_refund_once(app, live, upstream, stock, client):
    user, order_id, proxy_id = bought(client, upstream, stock)
    upstream.set_status(proxy_id, 0)
    token = client.get_cookie("session_id").value
    session = http(live, token)

    def ask(_):
        answer = session.post(live + REFUND, json={"order_id": order_id}, timeout=30)
        return answer.status_code, answer.json()["message"]

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(ask, range(10)))

    codes = sorted(code for code, _ in answers)
    assert codes == [200] + [409] * 9, answers
    assert len(upstream.calls_to("POST", r"/proxy/refund$")) == 1
    assert balance(user.id) == Decimal("500.00")
    assert len(refund_rows(user.id)) == 1
    assert_ledger_balanced()


def test_offline_but_the_upstream_check_says_no(client, upstream, stock):
    user, order_id, proxy_id = bought(client, upstream, stock)
    upstream.set_status(proxy_id, 0)
    from oxnack_admin.clients.socks_upstream import SocksUpstreamClient

    # Someone refunded these credentials at the upstream directly: its check now says no.
    SocksUpstreamClient(upstream.api_url, upstream.token).refund(upstream.purchases()[0]["credentials_id"])
    answer = client.post(REFUND, json={"order_id": order_id})
    assert answer.status_code == 422 and answer.json["message"] == "the upstream refuses the refund: already refunded"
    assert len(upstream.calls_to("POST", r"/proxy/refund$")) == 1  # only the direct one: we never called it
    assert balance(user.id) == Decimal("320.00")
    assert db.session.get(ProxyOrder, order_id).state == "active"
    assert_ledger_balanced()
