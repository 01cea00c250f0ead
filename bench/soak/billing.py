"""The billing cycle under the faults: a fast lifecycle clock and a pass queued every few seconds.

Every host reads LIFECYCLE_CLOCK_RATE and LIFECYCLE_CLOCK_EPOCH (services/lifecycle/clock.py), so
a 30-day period passes in PERIOD_SECONDS and the grace days in a few more: renewals, suspensions,
terminations and wipes happen while the injector restarts PostgreSQL and Redis and kills workers.
The scheduler's cron cannot go below a minute, so the soak queues `jobs.lifecycle.billing_cycle`
itself, on the queue the scheduler uses. Orders take their first period end from real time
(services/orders/placement.py), far behind the fast clock: a new server is due at the first pass
after its provisioning, which the driver's interval keeps short.
"""
import logging
import threading
import time

log = logging.getLogger("soak")

PERIOD_SECONDS = {True: 10.0, False: 60.0}  # short run / full run: real seconds per RENTAL_DAYS (30 days)
PASS_INTERVAL = {True: 2.0, False: 5.0}


def clock_settings(short: bool, rental_days: int = 30) -> dict:
    """The settings that make the lifecycle's days pass in seconds, from now on."""
    return {"LIFECYCLE_CLOCK_RATE": rental_days * 86400 / PERIOD_SECONDS[short], "LIFECYCLE_CLOCK_EPOCH": time.time()}


class BillingDriver:
    """Queues one billing-cycle pass every PASS_INTERVAL seconds until the load stops."""

    def __init__(self, rig, short: bool):
        self.rig, self.interval = rig, PASS_INTERVAL[short]
        self.queued, self.refused = 0, 0
        self.thread = threading.Thread(target=self._run, name="billing", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def _run(self) -> None:
        from rq import Queue

        while not self.rig.load.stopping():
            try:
                Queue("default", connection=self.rig.redis_client()).enqueue(
                    "jobs.lifecycle.billing_cycle", job_timeout=60, result_ttl=600, failure_ttl=3600)
                self.queued += 1
            except Exception as exc:  # Redis is being restarted: the next pass comes anyway
                self.refused += 1
                log.info("billing pass not queued: %s", type(exc).__name__)
            time.sleep(self.interval)
        log.info("billing driver: %d passes queued, %d refused (Redis away)", self.queued, self.refused)
