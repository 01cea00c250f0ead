"""`make soak`: several hosts under load and faults, then the invariants; exits 1 if one breaks.

    .venv/bin/python -m bench.soak [--duration 300] [--seed N] [--short] [--customers N] [--keep]
"""
import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.soak import checks, report
from bench.soak.billing import BillingDriver
from bench.soak.faults import OUTAGE_KINDS, Injector
from bench.soak.hosts import unexpected_exits
from bench.soak.load import Load
from bench.soak.rig import Rig

log = logging.getLogger("soak")


def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=300, help="seconds of load (default 300)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the load and the faults (default: random)")
    parser.add_argument("--short", action="store_true", help="about 30 s with fewer faults (make test runs this)")
    parser.add_argument("--customers", type=int, default=None, help="concurrent customers (default 12, short 6)")
    parser.add_argument("--no-netns", action="store_true", help="run every host on loopback")
    parser.add_argument("--keep", action="store_true", help="keep the run folder (logs, data) afterwards")
    options = parser.parse_args(argv)
    if options.short and options.duration == 300:
        options.duration = 30
    if options.seed is None:
        options.seed = int(time.time()) % 100000
    options.customers = options.customers or (6 if options.short else 12)
    return options


def main(argv=None) -> int:
    options = parse_arguments(argv)
    run_dir = Path(tempfile.mkdtemp(prefix="oxnack-soak-"))
    run_dir.chmod(0o755)  # as root, PostgreSQL runs as another user that must reach its folder
    formatter = logging.Formatter("%(asctime)s soak %(message)s")
    for handler in (logging.StreamHandler(sys.stdout), logging.FileHandler(run_dir / "soak.log")):
        handler.setFormatter(formatter)
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # the app built in this process configures the root logger its own way
    log.info("seed %s, %.0f s, %d customers, run folder %s", options.seed, options.duration, options.customers,
             run_dir)
    rig = Rig(run_dir, options.seed, options.short, allow_namespaces=not options.no_netns)
    try:
        return soak(rig, options)
    finally:
        rig.stop()
        if options.keep:
            log.info("run folder kept: %s", run_dir)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


def soak(rig: Rig, options) -> int:
    started = time.monotonic()
    rig.start_infrastructure()
    rig.prepare_database(options.customers)
    rig.start_hosts()
    features = rig.detect_features()
    log.info("up in %.1f s: %s; flows: %s", time.monotonic() - started, rig.network.mode,
             ", ".join(f"{k} {'on' if v else 'off (skipped: feature absent)'}" for k, v in features.items()))
    load = Load(options.seed, rig.app_urls, options.customers, features, rig.hooks,
                time.monotonic() + options.duration)
    load.max_servers = 2 if options.short else 3  # the short run's backlog must settle in its drain
    rig.load = load
    injector = Injector(rig, options.seed, options.duration, options.short)
    billing = BillingDriver(rig, options.short)
    load.start()
    injector.start()
    if features.get("lifecycle"):
        billing.start()
    churn_proxies(rig, load, options)
    load.join(grace=60)
    injector.join(timeout=120)
    billing.join(timeout=10)
    duration = load.metrics.now()
    drained = settle(rig, 35 if options.short else 120)
    injector.wait_recoveries(timeout=5)
    log.info("load done after %.1f s; backlog %s", duration, "settled" if drained else "NOT settled")
    if not drained:
        diagnose(rig)

    windows = [f.window for f in injector.faults if f.kind in OUTAGE_KINDS]
    samples = list(load.metrics.samples)
    results = invariants(rig, load, samples, windows, billing)
    print()
    print(report.figures(samples, duration, windows, injector.faults, rig.network.mode,
                         ", ".join(f"{h.name}={rig.network.address(h.name)}" for h in rig.hosts)))
    print()
    print(report.invariants(results))
    broken = [r.name for r in results if r.ok is False]
    print(f"\nsoak seed {options.seed}: {'BROKEN: ' + '; '.join(broken) if broken else 'every invariant holds'}")
    return 1 if broken else 0


def churn_proxies(rig: Rig, load: Load, options) -> None:
    """While the load runs, some sold proxies go offline upstream, as real ones do (refunds need it)."""
    import random

    rng = random.Random(f"churn-{options.seed}")
    while not load.stopping():
        time.sleep(5)
        if rig.features.get("proxies"):
            rig.upstream.take_offline(2, rng)


def settle(rig: Rig, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if rig.settled():
                return True
        except Exception:
            pass
        time.sleep(1)
    return False


def diagnose(rig: Rig) -> None:
    """What the workers and queues are doing when the backlog did not settle (into the log)."""
    from rq import Queue, Worker

    connection = rig.redis_client()
    for worker in Worker.all(connection=connection):
        log.info("worker %s: state %s, job %s, heartbeat %s", worker.name, worker.get_state(),
                 worker.get_current_job_id(), worker.last_heartbeat)
    for name in checks.QUEUES:
        queue = Queue(name, connection=connection)
        log.info("queue %s: %d queued, %d started, %d scheduled", name, queue.count,
                 queue.started_job_registry.count, queue.scheduled_job_registry.count)
    for row in checks.rows(rig.database_url, """SELECT r.id, r.state, r.job_id, r.updated_at, left(r.error, 100)
                                               FROM provisioning_runs r WHERE r.state IN ('pending', 'running')"""):
        log.info("unsettled run %s", row)


def invariants(rig: Rig, load: Load, samples, windows, billing: BillingDriver) -> list:
    db = rig.database_url
    owned, proxy_orders = checks.customers_view(rig.app_urls[0], load.ledger.customers,
                                                bool(rig.features.get("proxies")))
    outside = [s for s in samples if s.status >= 500 and not report.expected_5xx(s)
               and not report.in_window(s.at, windows)]
    exits = unexpected_exits(rig.hosts)
    results = [
        checks.ledger_matches(db),
        checks.top_ups_once(db, load.ledger.paid, bool(rig.features.get("payments"))),
        checks.vms_sold_once(db, owned),
        checks.no_half_made(db),
        checks.orders_settled(db),
        checks.proxies_once(proxy_orders, bool(rig.features.get("proxies"))),
        checks.mail_delivered(db, rig.sink),
        checks.jobs_accounted(rig.redis_url, rig.settled()),
        checks.lifecycle_ran(db, billing.queued, bool(rig.features.get("lifecycle"))),
        checks.Result("no 5xx outside the injected outage windows", not outside,
                      f"{len(outside)} outside; first: {[(round(s.at, 1), s.endpoint, s.status) for s in outside[:4]]}"),
        checks.Result("every host stayed up unless killed", not exits, "; ".join(exits) or "none died by itself"),
        checks.Result("customers signed up and ran", len(load.ledger.customers) == load.count and not load.crashes,
                      f"{len(load.ledger.customers)}/{load.count} signed up, {load.crashes} crashed, "
                      f"{load.ledger.orders_placed} orders placed"),
    ]
    return results


if __name__ == "__main__":
    sys.exit(main())
