"""The invariants, checked on the database, Redis and what the customers saw at the end."""
from collections import Counter
from dataclasses import dataclass

import psycopg2
import redis as redis_lib
import requests

QUEUES = ("mail", "default", "provisioning")


@dataclass
class Result:
    name: str
    ok: bool | None  # None: skipped (feature absent)
    detail: str


def rows(database_url: str, query: str, *args) -> list[tuple]:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(query, args)
            return cursor.fetchall()
    finally:
        connection.close()


def ledger_matches(db: str) -> Result:
    bad = rows(db, """
        SELECT u.id, u.balance, COALESCE(SUM(t.amount) FILTER (WHERE t.status = 'CONFIRMED'), 0) AS ledger
        FROM users u LEFT JOIN transactions t ON t.user_id = u.id
        GROUP BY u.id HAVING u.balance IS DISTINCT FROM COALESCE(SUM(t.amount) FILTER (WHERE t.status = 'CONFIRMED'), 0)""")
    users = rows(db, "SELECT count(*), count(*) FILTER (WHERE balance < 0) FROM users")[0]
    detail = f"{users[0]} customers" + (f"; off: {bad[:5]}" if bad else "")
    return Result("ledger sums to the balance (every customer)", not bad and users[0] > 0, detail)


def top_ups_once(db: str, paid: dict, enabled: bool) -> Result:
    name = "every top-up credited at most once"
    if not enabled:
        return Result(name, None, "skipped: feature absent")
    doubles = rows(db, """SELECT transaction_id, count(*) FROM transactions
                          WHERE type = 'add_balance' AND status = 'CONFIRMED' AND transaction_id IS NOT NULL
                          GROUP BY 1 HAVING count(*) > 1""")
    credited = dict(rows(db, """SELECT transaction_id, SUM(amount) FROM transactions
                                WHERE type = 'add_balance' AND status = 'CONFIRMED' GROUP BY 1"""))
    wrong = [tid for tid, (_, amount) in paid.items() if tid in credited and credited[tid] != amount]
    done = sum(1 for tid in paid if tid in credited)
    detail = f"{len(paid)} paid, {done} credited, {len(doubles)} credited twice, {len(wrong)} wrong amount"
    return Result(name, not doubles and not wrong, detail)


def vms_sold_once(db: str, owned: dict) -> Result:
    """`owned`: mail -> server ids that customer's /user_services lists at the end."""
    seen = Counter(sid for ids in owned.values() for sid in ids)
    shared = [sid for sid, n in seen.items() if n > 1]
    doubled = rows(db, """SELECT server_id, count(*) FROM provisioning_runs
                          WHERE state IN ('pending', 'running') GROUP BY 1 HAVING count(*) > 1""")
    foreign = rows(db, """SELECT s.id FROM servers s JOIN LATERAL (
                              SELECT r.user_id FROM provisioning_runs r WHERE r.server_id = s.id
                              ORDER BY r.id DESC LIMIT 1) last ON true
                          JOIN users u ON u.id = last.user_id
                          WHERE s.busy AND s.username IS DISTINCT FROM u.username""")
    detail = f"{len(seen)} VMs owned; listed by two customers {shared}; two live runs {doubled}; " \
             f"owner differs from buyer {[r[0] for r in foreign]}"
    return Result("no VM sold to two customers", not shared and not doubled and not foreign, detail)


def no_half_made(db: str) -> Result:
    orphans = rows(db, "SELECT id FROM servers WHERE busy AND username IS NULL AND attention IS NULL")
    half = rows(db, """SELECT s.id FROM servers s JOIN LATERAL (
                           SELECT r.id, r.state FROM provisioning_runs r WHERE r.server_id = s.id
                           ORDER BY r.id DESC LIMIT 1) last ON true
                       WHERE last.state = 'failed' AND s.attention IS NULL AND (s.busy OR EXISTS (
                           SELECT 1 FROM provisioning_steps st WHERE st.run_id = last.id AND st.position > 1
                           AND st.state <> 'pending'))""")
    stale_owner = rows(db, "SELECT id FROM servers WHERE NOT busy AND username IS NOT NULL AND attention IS NULL")
    flagged = rows(db, "SELECT count(*) FROM servers WHERE attention IS NOT NULL")[0][0]
    bad = orphans + half + stale_owner
    return Result("no VM left half-made without a flag", not bad,
                  f"{flagged} flagged for staff; unflagged half-made {[r[0] for r in bad]}")


def orders_settled(db: str) -> Result:
    counts = dict(rows(db, "SELECT state, count(*) FROM provisioning_runs GROUP BY 1"))
    unsettled = rows(db, "SELECT id, state FROM provisioning_runs WHERE state IN ('pending', 'running')")
    lost = rows(db, """SELECT r.id FROM provisioning_runs r JOIN servers s ON s.id = r.server_id
                       WHERE r.state = 'failed' AND r.refund_transaction_id IS NULL AND s.attention IS NULL""")
    refunds = rows(db, """SELECT r.id, count(t.id) FROM provisioning_runs r JOIN transactions t
                          ON t.id = r.refund_transaction_id AND t.status = 'CONFIRMED'
                          WHERE r.state = 'failed' GROUP BY 1""")
    refunded = len(refunds)
    detail = f"{counts.get('done', 0)} running, {refunded} refunded, " \
             f"{counts.get('failed', 0) - refunded} failed+flagged, {len(unsettled)} unsettled {unsettled[:5]}, " \
             f"failed with neither refund nor flag {[r[0] for r in lost]}"
    return Result("every order running, refunded or flagged", not unsettled and not lost, detail)


def proxies_once(orders: dict, enabled: bool) -> Result:
    """`orders`: mail -> the customer's /api/external-proxy/orders rows."""
    name = "no proxy sold twice"
    if not enabled:
        return Result(name, None, "skipped: feature absent")
    live = Counter()
    for items in orders.values():
        for order in items:
            if str(order.get("state") or order.get("status") or "").lower() not in ("refunded", "failed"):
                live[order.get("proxy_id")] += 1
    twice = [pid for pid, n in live.items() if n > 1]
    return Result(name, not twice, f"{sum(live.values())} live orders; sold twice {twice[:5]}")


def mail_delivered(db: str, sink) -> Result:
    counts = dict(rows(db, "SELECT state, count(*) FROM mail_messages GROUP BY 1"))
    twice = [mid for mid, n in sink.received.items() if n > 1 and mid]
    queued = counts.get("queued", 0)
    detail = f"{counts.get('sent', 0)} sent, {counts.get('failed', 0)} failed (visible), {queued} still queued; " \
             f"SMTP sink got {sink.total}, {len(twice)} twice"
    return Result("every queued mail sent or visibly failed", not queued and not twice, detail)


def lifecycle_ran(db: str, passes_queued: int, enabled: bool) -> Result:
    """The fast billing clock moved servers on (bench/soak/billing.py) and every wipe ended."""
    name = "billing cycle ran under the faults, every wipe done or visibly failed"
    if not enabled:
        return Result(name, None, "skipped: feature absent")
    # A customer's own renewal is not the cycle's: "renewed" counts the automatic ones only.
    events = dict(rows(db, """SELECT kind, count(*) FROM server_events
                              WHERE kind IN ('reminded', 'suspended', 'unsuspended', 'terminated', 'wipe.done',
                                             'wipe.failed') OR (kind = 'renewed' AND detail->>'source' = 'auto')
                              GROUP BY 1"""))
    wipes = dict(rows(db, "SELECT state, count(*) FROM server_wipes GROUP BY 1"))
    unfinished = wipes.get("pending", 0) + wipes.get("running", 0)
    failed_unflagged = rows(db, """SELECT w.id FROM server_wipes w JOIN servers s ON s.id = w.server_id
                                   WHERE w.state = 'failed' AND s.attention IS NULL""")
    moved = events.get("renewed", 0) + events.get("suspended", 0)
    detail = f"{passes_queued} passes queued; " + ", ".join(f"{k} {v}" for k, v in sorted(events.items())) + \
        f"; wipes {dict(sorted(wipes.items()))}, failed without a flag {[r[0] for r in failed_unflagged]}"
    return Result(name, moved > 0 and not unfinished and not failed_unflagged, detail)


def jobs_accounted(redis_url: str, settled: bool) -> Result:
    """Every job finished, failed (visible), waiting, or on a live worker; one a killed worker held
    counts only if its work is settled anyway (the sweep queued it again)."""
    from datetime import datetime, timedelta, timezone

    from rq import Queue, Worker

    connection = redis_lib.Redis.from_url(redis_url)
    fresh = datetime.now(timezone.utc) - timedelta(seconds=60)
    live_workers = {w.name for w in Worker.all(connection=connection)
                    if w.last_heartbeat and w.last_heartbeat.replace(tzinfo=w.last_heartbeat.tzinfo or timezone.utc) > fresh}
    tally, orphans, missing = Counter(), [], []
    for name in QUEUES:
        queue = Queue(name, connection=connection)
        queue.started_job_registry.cleanup()
        for job_id in queue.get_job_ids():
            tally["queued"] += 1
            if not connection.exists(f"rq:job:{job_id}"):
                missing.append(job_id)
        for label, registry in (("finished", queue.finished_job_registry), ("failed", queue.failed_job_registry),
                                ("scheduled", queue.scheduled_job_registry), ("deferred", queue.deferred_job_registry)):
            tally[label] += registry.count
        for job_id in queue.started_job_registry.get_job_ids():
            tally["started"] += 1
            worker = connection.hget(f"rq:job:{job_id}", "worker_name")
            if worker is None or worker.decode() not in live_workers:
                orphans.append(job_id)
    detail = ", ".join(f"{k} {v}" for k, v in sorted(tally.items())) + \
        f"; {len(orphans)} held by a killed worker (work {'resumed' if settled else 'NOT resumed'}); " \
        f"queued without a job {missing[:3]}"
    return Result("no job lost (finished, failed-and-visible or scheduled)",
                  not missing and (settled or not orphans), detail)


def customers_view(app_url: str, customers: list, with_proxies: bool) -> tuple[dict, dict]:
    """What each customer's own pages list at the end: their servers and proxy orders."""
    servers, proxies = {}, {}
    for mail, token in customers:
        cookie = {"Cookie": f"session_id={token}"}
        answer = requests.get(f"{app_url}/user_services", headers=cookie, timeout=20)
        listed = answer.json().get("services", []) if answer.status_code == 200 else []
        servers[mail] = [s["id"] for s in listed]
        if with_proxies:
            answer = requests.get(f"{app_url}/api/external-proxy/orders", headers=cookie, timeout=20)
            body = answer.json() if answer.status_code == 200 else []
            proxies[mail] = body.get("orders", []) if isinstance(body, dict) else body
    return servers, proxies
