"""The console's Proxies page: inventory filters, sync now with live progress, cleanup, orders, flagged orders."""
from decimal import Decimal

from rq import Queue
from sqlalchemy import select

from jobs.worker import AppSimpleWorker, build_worker
from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import AuditEvent, ProxyOrder, ProxySyncRun
from oxnack_admin.services.proxies import outcome, purchase as purchases
from tests.console.conftest import HTMX, sign_in
from tests.proxies.conftest import PRICE_RUB, assert_ledger_balanced, balance, customer
from tests.support.factories import make_staff


def test_the_page_lists_the_inventory_with_filters(client, upstream, stock):
    stock(3, "DE")
    stock(2, "JP", mobile=True)
    sign_in(client, make_staff("support"))
    page = client.get("/console/proxies").get_data(as_text=True)
    assert "Inventory" in page and "Sync now" not in page and "Clean up" not in page  # support only looks
    assert page.count("on sale</span>") == 5
    japan = client.get("/console/proxies?country=JP", headers=HTMX).get_data(as_text=True)
    assert japan.count("<tr>") - 1 == 2 and "DE" not in japan.split("<tbody>")[1]
    mobile = client.get("/console/proxies?type=mobile", headers=HTMX).get_data(as_text=True)
    assert mobile.count("mobile</td>") == 2
    assert 'href="/console/proxies"' in client.get("/console/").get_data(as_text=True)  # the navigation entry


def test_sync_now_runs_in_a_job_and_its_progress_is_polled(app, client, upstream, settings):
    for _ in range(4):
        upstream.add_proxy("GB")
    admin = make_staff("admin")
    sign_in(client, admin)

    started = client.post("/console/proxies/sync", data={"country_code": "gb", "page_size": "3"}, headers=HTMX)

    assert started.status_code == 200 and "Sync" in started.headers["HX-Trigger"]
    run = db.session.scalar(select(ProxySyncRun))
    assert run.state == "running" and run.country_code == "GB" and run.requested_by == admin.email
    assert f'hx-get="/console/proxies/sync/{run.id}"' in started.get_data(as_text=True)  # polls while running
    busy = client.post("/console/proxies/sync", data={"page_size": "3"}, headers=HTMX)
    assert busy.status_code == 409 and "already running" in busy.headers["HX-Trigger"]

    worker = build_worker(app, ["default"], worker_class=AppSimpleWorker)
    worker.work(burst=True)

    progress = client.get(f"/console/proxies/sync/{run.id}", headers=HTMX).get_data(as_text=True)
    assert 'data-state="done"' in progress and "hx-get" not in progress and "Added 4" in progress
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "proxies.sync"))
    invalid = client.post("/console/proxies/sync", data={"page_size": "0"}, headers=HTMX)
    assert invalid.status_code == 422
    assert Queue("default", connection=redis_client.connection).count == 0


def test_a_failed_sync_shows_its_error_in_the_last_runs(client, upstream):
    upstream.fail_next("GET", r"/proxy$", 503, times=2)
    from oxnack_admin.services.proxies import sync

    sync.sync_now()
    sign_in(client, make_staff("support"))
    page = client.get("/console/proxies").get_data(as_text=True)
    assert "failed" in page and "HTTP 503" in page


def test_cleanup_removes_what_is_off_sale_and_never_ordered(client, upstream, stock):
    rows = stock(3)
    user, _ = customer(Decimal("500.00"))
    order, _ = purchases.reserve(user.id, rows[0].id, None)
    outcome.fail(order.id, "test", outcome.OFF_SALE)  # ordered once: kept for its order's history
    upstream.remove_proxy(rows[1].upstream_id)
    from oxnack_admin.services.proxies import sync

    sync.sync_now()
    sign_in(client, make_staff("admin"))
    answer = client.post("/console/proxies/cleanup", headers=HTMX)
    assert answer.status_code == 200 and "Removed 1 " in answer.headers["HX-Trigger"]
    assert 'id="proxy-stats"' in answer.get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent.after).where(AuditEvent.action == "proxies.cleanup")) == {"removed": 1}
    assert_ledger_balanced()


def test_orders_show_their_refund_state_and_staff_settle_a_flagged_one(client, upstream, stock, settings):
    rows = stock(2)
    user, _ = customer(Decimal("500.00"))
    flagged, _ = purchases.reserve(user.id, rows[0].id, None)
    db.session.get(ProxyOrder, flagged.id).state = "flagged"
    db.session.commit()
    failed, _ = purchases.reserve(user.id, rows[1].id, None)
    outcome.fail(failed.id, "the proxy's server failed", outcome.OFF_SALE)
    support = make_staff("support")
    sign_in(client, support)
    listing = client.get("/console/proxies/orders").get_data(as_text=True)
    assert "flagged" in listing and "the proxy&#39;s server failed" in listing and "Refund customer" not in listing

    sign_in(client, make_staff("admin"))
    keep = client.post(f"/console/proxies/orders/{flagged.id}/resolve", data={"outcome": "keep"}, headers=HTMX)
    assert keep.status_code == 409  # no credentials: it can only be refunded
    done = client.post(f"/console/proxies/orders/{flagged.id}/resolve", data={"outcome": "refund"}, headers=HTMX)
    assert done.status_code == 200 and 'data-state="refunded"' in done.get_data(as_text=True)
    assert balance(user.id) == Decimal("500.00")
    again = client.post(f"/console/proxies/orders/{flagged.id}/resolve", data={"outcome": "refund"}, headers=HTMX)
    assert again.status_code == 409 and balance(user.id) == Decimal("500.00")
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "proxies.order_refund"))
    assert_ledger_balanced()


def test_the_dashboard_shows_proxy_revenue(client, upstream, stock):
    product = stock(1)[0]
    user, _ = customer(Decimal("500.00"))
    order, _ = purchases.reserve(user.id, product.id, None)
    sign_in(client, make_staff("support"))
    dashboard = client.get("/console/").get_data(as_text=True)
    assert f"{PRICE_RUB} RUB · {PRICE_RUB} RUB in 30 days" in dashboard
