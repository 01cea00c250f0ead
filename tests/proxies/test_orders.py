"""The customer's orders list: credentials only while the proxy is theirs, and a constant number of queries."""
from decimal import Decimal

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from oxnack_admin.clients.socks_upstream import SocksUpstreamClient
from oxnack_admin.extensions import db
from oxnack_admin.services.proxies import outcome, purchase as purchases
from tests.proxies.conftest import assert_ledger_balanced, customer
from tests.support.customers import login_cookie

PURCHASE, ORDERS = "/api/external-proxy/purchase", "/api/external-proxy/orders"


@pytest.fixture
def statements():
    """Every SQL statement sent while the test runs."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


def test_credentials_are_shown_only_while_the_money_is_not_back(client, upstream, stock):
    active, late, offline = stock(3)
    user, _ = customer(Decimal("1000.00"))
    login_cookie(client, user)
    assert client.post(PURCHASE, json={"product_id": active.id}).status_code == 200
    refunded_id = client.post(PURCHASE, json={"product_id": offline.id}).json["order_id"]
    upstream.set_status(offline.upstream_id, 0)
    assert client.post("/api/external-proxy/refund", json={"order_id": refunded_id}).status_code == 200
    # A buy whose answer came after the money went back: bought, flagged for staff.
    order, _ = purchases.reserve(user.id, late.id, None)
    outcome.fail(order.id, "the upstream did not confirm the purchase", outcome.OFF_SALE)
    bought = SocksUpstreamClient(upstream.api_url, upstream.token).buy(late.upstream_id)
    assert outcome.activate(order.id, bought).state == "flagged"

    listed = {o["order_id"]: o for o in client.get(ORDERS).json["orders"]}

    assert {o["state"] for o in listed.values()} == {"active", "refunded", "flagged"}
    for entry in listed.values():
        secrets = (entry["credentials"]["login"], entry["credentials"]["password"], entry["credentials"]["ip"],
                   entry["credentials"]["port"])
        if entry["state"] == "active":
            assert all(secrets), entry["state"]
        else:
            assert secrets == (None, None, None, None), entry["state"]
    assert_ledger_balanced()


def test_the_orders_list_costs_the_same_queries_for_one_order_or_many(client, upstream, stock, statements):
    product_ids = [row.id for row in stock(5)]
    user, _ = customer(Decimal("1000.00"))
    login_cookie(client, user)
    assert client.post(PURCHASE, json={"product_id": product_ids[0]}).status_code == 200
    client.get(ORDERS)  # warm: the first request may touch the session
    db.session.expunge_all()  # the test shares the request's session: start it empty, as a request's is
    statements.clear()
    assert len(client.get(ORDERS).json["orders"]) == 1
    one = len(statements)
    for product_id in product_ids[1:]:
        assert client.post(PURCHASE, json={"product_id": product_id}).status_code == 200
    client.get(ORDERS)
    db.session.expunge_all()
    statements.clear()
    assert len(client.get(ORDERS).json["orders"]) == 5
    assert len(statements) == one, statements
