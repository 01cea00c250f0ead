"""The inventory sync: read the upstream's whole listing, then apply it in one transaction.

Pages are read until one comes back shorter than the page size (the upstream's `total` is not
reliable). Only a complete listing is applied, so an outage half-way leaves the inventory as
it was. Applying adds new proxies, updates changed ones, and takes off sale those that went
offline or vanished; rows reserved or sold to a customer are never touched. Each run is a
`proxy_sync_runs` row updated after every page (the console polls it); a partial unique index
lets only one row be `running`, so runs never overlap.
"""
import logging
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import false, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from oxnack_admin.clients.errors import RemoteError
from oxnack_admin.extensions import db
from oxnack_admin.models import ProxyInventory, ProxySyncRun
from oxnack_admin.models.enums import ProxySyncTrigger, RunState
from oxnack_admin.services.ops.retryable import describe
from oxnack_admin.services.support import alerts
from . import upstream

log = logging.getLogger(__name__)
MIN_PAGE_SIZE, MAX_PAGE_SIZE = 1, 500
FIELDS = ("ip", "country", "country_code", "city", "region", "isp", "speed", "mobile", "hosting", "status")


class SyncBusy(Exception):
    """Another sync is running."""


def start_run(trigger: str = ProxySyncTrigger.SCHEDULE, *, staff_id: int | None = None, requested_by: str | None = None,
              country_code: str | None = None, page_size: int | None = None) -> ProxySyncRun:
    """Record a running sync and commit; raises SyncBusy if one is running already."""
    run = ProxySyncRun(state=RunState.RUNNING, trigger=trigger, staff_id=staff_id,
                       requested_by=requested_by or str(trigger),
                       country_code=(country_code or "").strip().upper() or None,
                       page_size=page_size or int(current_app.config["SOCKS_SYNC_PAGE_SIZE"]))
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SyncBusy("a proxy sync is already running") from None
    return run


def execute(run_id: int) -> ProxySyncRun:
    """Carry a started run out; it ends `done` with its counts or `failed` with its error (inventory as it was)."""
    run = db.session.get(ProxySyncRun, run_id)
    try:
        records, skipped, reported_total = _read_listing(run)
        counts = _apply(records, run.country_code)
    except Exception as exc:  # recorded on the run, then raised for the caller and RQ to see
        db.session.rollback()
        run = db.session.get(ProxySyncRun, run_id)
        run.state, run.error, run.finished_at = RunState.FAILED, describe(exc), _now()
        db.session.commit()
        log.warning("proxy sync %s failed: %s", run_id, run.error)
        alerts.check_proxy_sync_failures()
        if not isinstance(exc, RemoteError):
            raise
        return run
    run.added, run.updated, run.removed = counts["added"], counts["updated"], counts["removed"]
    run.skipped = skipped + counts["skipped"]
    run.total_available_external = max(reported_total or 0, len(records))
    run.state, run.error, run.finished_at = RunState.DONE, None, _now()
    db.session.commit()  # the inventory changes and the run's result together
    log.info("proxy sync %s: %s fetched, %s added, %s updated, %s removed, %s skipped", run.id, run.total_fetched,
             run.added, run.updated, run.removed, run.skipped)
    return run


def sync_now(trigger: str = ProxySyncTrigger.SCHEDULE, **options) -> ProxySyncRun:
    """start_run + execute, for the staff call and the scheduled job."""
    return execute(start_run(trigger, **options).id)


def result(run: ProxySyncRun) -> dict:
    """The staff call's answer."""
    return {"total_fetched": run.total_fetched, "total_available_external": run.total_available_external,
            "added": run.added, "updated": run.updated, "removed": run.removed, "skipped": run.skipped,
            "sync_time": iso(run.finished_at or run.started_at)}


def fail_abandoned_runs(stale_minutes: float | None = None) -> list[int]:
    """A running row nobody has touched for a while belonged to a dead process: end it, so syncs can run."""
    minutes = stale_minutes if stale_minutes is not None else max(10.0, 3 * float(current_app.config["SOCKS_API_TIMEOUT"]) / 60)
    cutoff = _now() - timedelta(minutes=minutes)
    ids = list(db.session.scalars(update(ProxySyncRun).where(
        ProxySyncRun.state == RunState.RUNNING, ProxySyncRun.updated_at <= cutoff)
        .values(state=RunState.FAILED, error="abandoned: its process stopped", finished_at=_now())
        .returning(ProxySyncRun.id)))
    db.session.commit()
    return ids


def _read_listing(run: ProxySyncRun) -> tuple[dict[int, dict], int, int | None]:
    client = upstream.client()
    records: dict[int, dict] = {}
    skipped, reported_total = 0, None
    for page in range(int(current_app.config["SOCKS_SYNC_MAX_PAGES"])):
        listing = client.list_proxies(page, run.page_size, country_code=run.country_code)
        if page == 0:
            reported_total = listing.total
        for raw in listing.proxies:
            record = _record(raw)
            if record is None:
                skipped += 1
            else:
                records[record["upstream_id"]] = record
        run.pages, run.total_fetched = page + 1, run.total_fetched + len(listing.proxies)
        db.session.commit()  # progress the console can see
        if len(listing.proxies) < run.page_size:
            return records, skipped, reported_total
    raise RemoteError(f"the upstream listing did not end after {run.pages} pages")


def _apply(records: dict[int, dict], country_code: str | None) -> dict:
    now = _now()
    counts = {"added": 0, "updated": 0, "removed": 0, "skipped": 0}
    in_scope = or_(ProxyInventory.upstream_id.in_(list(records)) if records else false(),
                   func.upper(ProxyInventory.country_code) == country_code if country_code else true())
    # Rows a purchase holds right now are skipped (SKIP LOCKED); they are sold or back next time.
    rows = {row.upstream_id: row for row in db.session.scalars(
        select(ProxyInventory).where(in_scope).with_for_update(skip_locked=True))}
    # Listed, known, yet not selected: locked by a purchase this instant. One query, not one per new proxy.
    unselected = [upstream_id for upstream_id in records if upstream_id not in rows]
    locked = set(db.session.scalars(select(ProxyInventory.upstream_id).where(
        ProxyInventory.upstream_id.in_(unselected)))) if unselected else set()
    for upstream_id, record in records.items():
        row = rows.get(upstream_id)
        if row is None:
            if upstream_id in locked:
                counts["skipped"] += 1
                continue
            online = record["status"] == 1
            db.session.add(ProxyInventory(**record, on_sale=online, sold=False, first_seen_at=now, last_seen_at=now,
                                          off_sale_reason=None if online else "offline"))
            counts["added"] += 1
            continue
        if row.sold:
            counts["skipped"] += 1
            continue
        changed = any(getattr(row, name) != record[name] for name in FIELDS)
        online = record["status"] == 1
        was_on_sale = row.on_sale
        for name in FIELDS:
            setattr(row, name, record[name])
        row.last_seen_at, row.on_sale = now, online
        row.off_sale_reason = None if online else "offline"
        if was_on_sale and not online:
            counts["removed"] += 1
        elif changed or was_on_sale != online:
            counts["updated"] += 1
    for upstream_id, row in rows.items():
        if upstream_id not in records and not row.sold and row.on_sale:
            row.on_sale, row.off_sale_reason = False, "not listed online by the upstream"
            counts["removed"] += 1
    db.session.flush()
    return counts


def _record(raw: dict) -> dict | None:
    """Our columns from one upstream record, or None when it has no usable proxy_id."""
    try:
        upstream_id = int(raw.get("proxy_id"))
        status = int(raw.get("status", 1))
    except (TypeError, ValueError):
        return None
    try:
        speed = float(raw["speed"]) if raw.get("speed") not in (None, "") else None
    except (TypeError, ValueError):
        speed = None
    return {"upstream_id": upstream_id, "ip": _text(raw.get("proxy_ip")), "country": _text(raw.get("country")),
            "country_code": (_text(raw.get("country_code")) or "").upper() or None, "city": _text(raw.get("city")),
            "region": _text(raw.get("region_name") or raw.get("region")), "isp": _text(raw.get("isp")),
            "speed": speed, "mobile": raw.get("mobile") is True, "hosting": raw.get("hosting") is True,
            "status": 1 if status == 1 else 0}


def _text(value) -> str | None:
    return None if value in (None, "") else str(value)[:200]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if moment else None
