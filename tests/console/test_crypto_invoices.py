"""The console's crypto invoices: listed with address and transfers, check now credits, the dashboard's watcher panel."""
from decimal import Decimal

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import User
from oxnack_admin.services.crypto import admin as crypto_admin
from oxnack_admin.services.crypto import invoices as crypto_invoices
from oxnack_admin.services.crypto import watcher
from tests.console.conftest import HTMX
from tests.crypto.conftest import chain  # noqa: F401  (the loopback BSC node)
from tests.support.factories import make_user


def test_invoices_page_lists_crypto_invoices_and_check_now_credits(app, client, as_role, chain):  # noqa: F811
    as_role("support")
    customer = make_user("crypto-console@example.com")
    invoice = crypto_invoices.open_invoice(customer.id, 925, "USDT")
    address, invoice_id = invoice.address, invoice.id
    page = client.get("/console/invoices").get_data(as_text=True)
    assert address in page and "Check the chain now" in page and "waiting" in page
    tx = chain.pay_usdt(address, "10")
    chain.mine(2)
    response = client.post("/console/invoices/crypto/check", headers=HTMX)
    assert response.status_code == 200 and "1 credited" in response.headers["HX-Trigger"]
    fragment = response.get_data(as_text=True)
    assert tx[:14] in fragment and "3 conf" in fragment and "paid" in fragment
    db.session.expire_all()
    assert db.session.get(User, customer.id).balance == Decimal("925.00")
    assert client.post("/console/invoices/crypto/check", headers=HTMX).headers["HX-Trigger"].count("0 credited") == 1
    dashboard = client.get("/console/").get_data(as_text=True)
    assert f'id="crypto-last-block">{chain.head - 2}<' in dashboard and "USDT 92.5" in dashboard
    assert invoice_id


def test_the_dashboard_lag_grows_while_no_pass_runs_and_a_dead_node_keeps_the_last_seen(app, client, as_role, chain):  # noqa: F811
    as_role("support")
    crypto_invoices.open_invoice(make_user("lagging@example.com").id, 925, "USDT")
    chain.mine(3)
    result = watcher.run_pass()
    assert result.outcome == "done", result.detail
    assert 'id="crypto-lag">0 confirmed' in client.get("/console/").get_data(as_text=True)
    redis_client.delete(crypto_admin.LIVE_HEAD_KEY)  # the live head is asked once per CRYPTO_POLL_SECONDS
    chain.mine(10)  # the scheduler is dead: no pass; staff must see the watcher fall behind
    dashboard = client.get("/console/").get_data(as_text=True)
    assert 'id="crypto-lag">10 confirmed' in dashboard and f"node head {chain.head}" in dashboard
    redis_client.delete(crypto_admin.LIVE_HEAD_KEY)
    chain.go_down()
    assert 'id="crypto-lag">0 confirmed' in client.get("/console/").get_data(as_text=True)  # what the last pass saw
