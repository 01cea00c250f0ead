"""The inventory sync over several runs, the staff calls (token, roles), outages, overlap."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from jobs.proxies import SyncFailed, sync_inventory
from oxnack_admin.extensions import db
from oxnack_admin.models import ProxyInventory, ProxyOrder, ProxySyncRun
from oxnack_admin.services.proxies import sync
from tests.proxies.conftest import assert_ledger_balanced, customer, staff_token
from tests.support.customers import login_cookie

SYNC = "/api/external-proxy/sync"


def rows() -> dict[int, ProxyInventory]:
    db.session.expire_all()
    return {row.upstream_id: row for row in db.session.scalars(select(ProxyInventory))}


def test_sync_over_several_runs_adds_updates_removes_and_never_touches_sold(client, upstream, settings):
    settings(SOCKS_SYNC_PAGE_SIZE=7)  # 20 proxies: pages of 7, 7, 6 (the last one short)
    ids = [upstream.add_proxy("US" if n % 2 else "DE")["proxy_id"] for n in range(20)]
    upstream.add_proxy("FR", status=0)  # offline: not listed (status=1 is asked for), never added

    first = sync.sync_now()
    assert (first.state, first.pages, first.total_fetched, first.added, first.updated, first.removed) == \
        ("done", 3, 20, 20, 0, 0)
    assert len(upstream.calls_to("GET", r"/proxy$")) == 3
    assert all(row.on_sale for row in rows().values()) and len(rows()) == 20

    # A customer buys one; then the upstream changes: one sold proxy changes, vanishes from the list.
    user, _ = customer(Decimal("500.00"))
    login_cookie(client, user)
    sold_row = rows()[ids[0]]
    assert client.post("/api/external-proxy/purchase", json={"product_id": sold_row.id}).status_code == 200
    upstream.update_proxy(ids[1], isp="New ISP", city="Austin")  # changed
    upstream.update_proxy(ids[2], speed=999.0)  # changed
    upstream.set_status(ids[3], 0)  # went offline
    upstream.remove_proxy(ids[4])  # vanished
    new_ids = [upstream.add_proxy("JP")["proxy_id"] for _ in range(2)]

    second = sync.sync_now()
    assert (second.added, second.updated, second.removed) == (2, 2, 2), sync.result(second)
    seen = rows()
    assert seen[ids[1]].isp == "New ISP" and seen[ids[1]].city == "Austin" and seen[ids[2]].speed == 999.0
    assert not seen[ids[3]].on_sale and not seen[ids[4]].on_sale and seen[ids[4]].off_sale_reason
    assert all(seen[i].on_sale for i in new_ids)
    sold_after = seen[ids[0]]
    assert sold_after.sold and not sold_after.on_sale and sold_after.isp == sold_row.isp
    order = db.session.scalar(select(ProxyOrder))
    assert order.state == "active" and order.login

    # Back online: on sale again. Nothing else changed: nothing counted.
    upstream.set_status(ids[3], 1)
    third = sync.sync_now()
    assert (third.added, third.updated, third.removed) == (0, 1, 0)
    assert rows()[ids[3]].on_sale
    fourth = sync.sync_now()
    assert (fourth.added, fourth.updated, fourth.removed) == (0, 0, 0)
    assert len(db.session.scalars(select(ProxySyncRun)).all()) == 4
    assert_ledger_balanced()


def test_an_outage_half_way_leaves_the_inventory_as_it_was(upstream, settings):
    settings(SOCKS_SYNC_PAGE_SIZE=5)
    ids = [upstream.add_proxy("US")["proxy_id"] for _ in range(12)]
    assert sync.sync_now().added == 12
    upstream.remove_proxy(ids[0])
    calls_before = len(upstream.calls_to("GET", r"/proxy$"))
    upstream.fail_listing_page(1, 502, times=2)  # page 0 answers, page 1 fails on its try and its retry
    run = sync.sync_now()

    assert run.state == "failed" and "502" in run.error
    assert len(upstream.calls_to("GET", r"/proxy$")) - calls_before == 3  # page 0, page 1 and its retry
    assert all(row.on_sale for row in rows().values()) and len(rows()) == 12  # untouched, nothing removed
    with pytest.raises(SyncFailed):
        upstream.fail_next("GET", r"/proxy$", 500, times=2)
        sync_inventory()
    assert db.session.scalar(select(ProxySyncRun).order_by(ProxySyncRun.id.desc())).state == "failed"


def test_runs_never_overlap_and_an_abandoned_run_is_ended(upstream):
    running = sync.start_run()
    with pytest.raises(sync.SyncBusy):
        sync.start_run()
    assert sync_inventory() is None  # the scheduled job skips quietly
    assert sync.fail_abandoned_runs(stale_minutes=0) == [running.id]
    upstream.add_proxy("US")
    assert sync.sync_now().state == "done"


def test_a_country_sync_only_takes_that_country_off_sale(upstream):
    us = upstream.add_proxy("US")["proxy_id"]
    de = upstream.add_proxy("DE")["proxy_id"]
    assert sync.sync_now().added == 2
    upstream.remove_proxy(us)
    upstream.remove_proxy(de)
    run = sync.sync_now(country_code="de")
    assert run.removed == 1 and rows()[us].on_sale and not rows()[de].on_sale


def test_the_staff_sync_call_needs_an_admin_token_and_answers_the_counts(client, upstream):
    for _ in range(3):
        upstream.add_proxy("GB")
    assert client.post(SYNC, json={}).status_code == 401
    assert client.post(SYNC, json={}, headers={"Authorization": "Bearer nope"}).json == \
        {"status": "error", "message": "unauthorized"}
    support = staff_token("support")
    forbidden = client.post(SYNC, json={}, headers={"Authorization": f"Bearer {support}"})
    assert forbidden.status_code == 403 and forbidden.json == {"status": "error", "message": "forbidden"}

    admin = {"Authorization": f"Bearer {staff_token('admin')}"}
    answer = client.post(SYNC, json={"country_code": "GB", "page_size": 2}, headers=admin)
    assert answer.status_code == 200, answer.json
    assert set(answer.json) == {"total_fetched", "total_available_external", "added", "updated", "removed", "skipped",
                                "sync_time"}
    assert answer.json["total_fetched"] == 3 and answer.json["added"] == 3 and answer.json["sync_time"].endswith("Z")
    assert client.post(SYNC, json={"page_size": 0}, headers=admin).status_code == 400
    assert client.post(SYNC, json={"country_code": 7}, headers=admin).status_code == 400
    upstream.fail_next("GET", r"/proxy$", 503, times=2)
    down = client.post(SYNC, headers=admin)
    assert down.status_code == 502 and down.json["status"] == "error"

    stats = client.get("/api/external-proxy/stats", headers=admin).json
    assert stats["total_inventory"] == 3 and stats["countries_available"] == 1 and stats["total_sold"] == 0
    assert stats["last_sync"] == answer.json["sync_time"] and stats["revenue"] == 0

    upstream._proxies.clear()
    assert client.post(SYNC, json={}, headers=admin).json["removed"] == 3
    cleaned = client.post("/api/external-proxy/cleanup", headers=admin)
    assert cleaned.status_code == 200 and cleaned.json["status"] == "success" and cleaned.json["removed_count"] == 3
    assert rows() == {}


def test_make_run_serves_a_proxy_upstream_with_stock_that_syncs(app, settings):
    from oxnack_admin.cli.simulators import DEMO_PROXIES, start_simulators

    started = start_simulators(app.config, pool_vms=[], socks_port=0)
    try:
        assert started.environment["OXNACK_SOCKS_API_URL"].endswith("/api/v1/authorized")
        settings(SOCKS_API_URL=started.socks.api_url, SOCKS_API_TOKEN=started.socks.token, SOCKS_SYNC_PAGE_SIZE=100)
        run = sync.sync_now()
        assert run.state == "done" and 0.8 * DEMO_PROXIES < run.added < DEMO_PROXIES  # a tenth is offline
        assert len({row.country_code for row in rows().values()}) == 7
    finally:
        started.stop()
