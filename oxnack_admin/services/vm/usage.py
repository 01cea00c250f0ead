"""A VM's usage graphs from Proxmox `rrddata`, cached in Redis for STATS_CACHE_SECONDS.

A field Proxmox leaves out of a point (an interval with no data) stays out: a chart shows a gap,
never a made-up 0.
"""
import json
import logging

from flask import current_app

from oxnack_admin.extensions import redis_client
from oxnack_admin.models import Server
from oxnack_admin.services.fleet import hypervisor

log = logging.getLogger(__name__)

TIMEFRAMES = ("hour", "day", "week", "month")
FIELDS = ("time", "cpu", "maxcpu", "mem", "maxmem", "netin", "netout", "diskread", "diskwrite")


def cache_key(server_id: int, timeframe: str) -> str:
    return f"oxnack:vm-stats:{server_id}:{timeframe}"


def usage(server: Server, timeframe: str) -> list[dict]:
    """The VM's points for `timeframe`, oldest first; raises RemoteError when Proxmox cannot answer."""
    if timeframe not in TIMEFRAMES:
        raise ValueError(f"unknown timeframe {timeframe!r}")
    key = cache_key(server.id, timeframe)
    cached = redis_client.get(key)
    if cached is not None:
        return json.loads(cached)
    raw = hypervisor.proxmox_client(server.node).rrd_data(server.id, timeframe)
    points = sorted((p for p in (usage_point(point) for point in raw) if p is not None), key=lambda p: p["time"])
    redis_client.set(key, json.dumps(points), ex=max(int(current_app.config["STATS_CACHE_SECONDS"]), 1))
    return points


def usage_point(point: dict) -> dict | None:
    """The fields we pass on, each only when Proxmox gave a number; None without a time."""
    kept = {name: point[name] for name in FIELDS if _is_number(point.get(name))}
    if "time" not in kept:
        return None
    kept["time"] = int(kept["time"])
    return kept


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value  # NaN is no value
