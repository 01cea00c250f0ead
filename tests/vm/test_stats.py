"""GET /server_stats: Proxmox rrddata passed through field by field, cached, refused for others' servers."""
import time

import pytest

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models.enums import LifecycleState, SuspendReason
from oxnack_admin.services.vm import usage
from oxnack_admin.simulator.proxmox_console import rrd_points
from tests.support.factories import make_user

FIELDS = ("time", "cpu", "maxcpu", "mem", "maxmem", "netin", "netout", "diskread", "diskwrite")


def stats(client, query: str):
    return client.get(f"/server_stats?{query}")


def test_points_are_proxmox_points_field_by_field(signed_in, owner, sold, proxmox):
    sold(owner, 301)
    proxmox.rrd_now = 1_800_000_000
    response = stats(signed_in, "server_id=301&timeframe=hour")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "good" and body["timeframe"] == "hour"
    raw = rrd_points(301, "hour", cores=2, memory_mb=2048, disk_gb=20, now=proxmox.rrd_now)
    assert len(body["points"]) == len(raw) == 70
    for ours, theirs in zip(body["points"], raw, strict=True):
        assert ours == {name: theirs[name] for name in FIELDS if name in theirs}
        assert isinstance(ours["time"], int)
    # Undefined values stay undefined: the newest point has only its time, some lack network counters.
    assert body["points"][-1] == {"time": raw[-1]["time"]}
    gaps = [p for p in body["points"][:-1] if "netin" not in p]
    assert gaps and all("cpu" in p for p in gaps)
    calls = proxmox.calls_to("GET", r"/qemu/301/rrddata$")
    assert calls[-1].params == {"timeframe": "hour", "cf": "AVERAGE"}


def test_a_missing_value_is_never_zero(app):
    assert usage.usage_point({"time": 5, "cpu": None, "mem": 0, "netin": "12", "maxcpu": True}) == {"time": 5, "mem": 0}
    assert usage.usage_point({"cpu": 0.5}) is None


def test_answers_are_cached_per_timeframe(signed_in, owner, sold, proxmox, job_config):
    job_config(STATS_CACHE_SECONDS=60)
    sold(owner, 301)
    first = stats(signed_in, "server_id=301&timeframe=day").get_json()
    second = stats(signed_in, "server_id=301&timeframe=day").get_json()
    assert first == second
    assert len(proxmox.calls_to("GET", r"/qemu/301/rrddata$")) == 1
    stats(signed_in, "server_id=301&timeframe=week")
    assert len(proxmox.calls_to("GET", r"/qemu/301/rrddata$")) == 2


def test_foreign_and_unknown_servers_are_not_found(signed_in, owner, sold, proxmox):
    stranger = make_user("stranger@example.com")
    sold(stranger, 302)
    for query in ("server_id=302&timeframe=hour", "server_id=999&timeframe=hour"):
        response = stats(signed_in, query)
        assert response.status_code == 404
        assert response.get_json() == {"status": "error", "message": "not found"}
    assert proxmox.calls_to("GET", r"rrddata") == []


def test_suspended_server_is_refused(signed_in, owner, sold, proxmox):
    server = sold(owner, 301, status="off")
    server.lifecycle_state, server.suspend_reason = LifecycleState.SUSPENDED, SuspendReason.UNPAID
    db.session.commit()
    response = stats(signed_in, "server_id=301&timeframe=hour")
    assert (response.status_code, response.get_json()["message"]) == (403, "server suspended")


@pytest.mark.parametrize("query", ["server_id=301&timeframe=year", "server_id=301&timeframe=", "server_id=301"])
def test_bad_timeframe(signed_in, owner, sold, proxmox, query):
    sold(owner, 301)
    response = stats(signed_in, query)
    assert (response.status_code, response.get_json()) == (400, {"status": "error", "message": "bad timeframe"})


@pytest.mark.parametrize("server_id", ["301.0", "true", "abc", "+301", " 301", "0x12d", "", "0", "99999999999"])
def test_server_id_must_be_a_plain_number(signed_in, owner, sold, proxmox, server_id):
    sold(owner, 301)
    response = signed_in.get("/server_stats", query_string={"server_id": server_id, "timeframe": "hour"})
    assert response.status_code == 400
    assert response.get_json()["status"] == "error"


def test_signed_out_is_unlogin(client):
    response = stats(client, "server_id=301&timeframe=hour")
    assert (response.status_code, response.get_json()["message"]) == (401, "unlogin")


def test_the_cache_expires_after_stats_cache_seconds(signed_in, owner, sold, proxmox, job_config):
    job_config(STATS_CACHE_SECONDS=1)
    sold(owner, 301)
    proxmox.rrd_now = 1_800_000_000
    first = stats(signed_in, "server_id=301&timeframe=hour").get_json()["points"]
    key = usage.cache_key(301, "hour")
    assert 0 < redis_client.pttl(key) <= 1000  # kept for STATS_CACHE_SECONDS, no longer
    deadline = time.monotonic() + 10
    while redis_client.exists(key) and time.monotonic() < deadline:  # Redis's own clock ends it
        time.sleep(0.05)
    assert not redis_client.exists(key)
    proxmox.rrd_now += 3600  # an hour on: a fresh read shows newer points
    second = stats(signed_in, "server_id=301&timeframe=hour").get_json()["points"]
    assert len(proxmox.calls_to("GET", r"/qemu/301/rrddata$")) == 2
    assert second[-1]["time"] > first[-1]["time"] + 3000  # the new curve, not the cached one
