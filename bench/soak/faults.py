"""The seeded fault injector: one fault at a time, each logged with its window and recovery time."""
import logging
import random
import threading
import time
from dataclasses import dataclass

log = logging.getLogger("soak")

ALL_KINDS = ["kill_worker", "restart_redis", "restart_postgres", "proxmox_5xx", "proxmox_hang",
             "proxmox_lock", "pfsense_down", "callback_repeat"]
SHORT_KINDS = ["kill_worker", "proxmox_5xx", "restart_redis", "pfsense_down", "restart_postgres"]
# Faults that take a dependency of the app itself away: answers in their window may be 5xx.
OUTAGE_KINDS = {"restart_redis", "restart_postgres"}
RECOVERY_CAP = 90.0
IN_FLIGHT = 3.0  # seconds after recovery in which a request sent during the outage may still come back
AFTER_RECOVERY = 15.0  # how long after PostgreSQL is back the report counts 5xx (none is expected)


@dataclass
class Fault:
    kind: str
    target: str
    started: float  # seconds since the load started
    ended: float | None = None  # the fault was lifted (server back, simulator healthy)
    recovered_after: float | None = None  # seconds from `ended` until the system was well again
    note: str = ""
    skipped: bool = False

    @property
    def recovered_at(self) -> float:
        return (self.ended or self.started) + (self.recovered_after if self.recovered_after is not None else 30)

    @property
    def window(self) -> tuple[float, float]:
        # From the fault until the app answered health again, plus requests still in flight. Dead
        # pooled connections no longer add seconds after a PostgreSQL restart: both pools replace
        # them (DATABASE_PRE_PING; the autocommit pool reconnects once).
        return self.started, self.recovered_at + IN_FLIGHT


class Injector:
    def __init__(self, rig, seed: int, duration: float, short: bool):
        self.rig, self.duration, self.short = rig, duration, short
        self.rng = random.Random(f"faults-{seed}")
        self.faults: list[Fault] = []
        self.watchers: list[threading.Thread] = []
        self.thread = threading.Thread(target=self._run, name="injector", daemon=True)
        self.plan = self._plan()

    def _plan(self) -> list[tuple[float, str]]:
        if self.short:
            kinds = list(SHORT_KINDS)
            self.rng.shuffle(kinds)
            first, last = 4.0, self.duration - 8.0
        else:
            kinds = list(ALL_KINDS)
            self.rng.shuffle(kinds)
            rest = list(ALL_KINDS)
            self.rng.shuffle(rest)
            kinds += rest[: max(0, int(self.duration // 22) - len(kinds))]
            first, last = 12.0, self.duration - 25.0
        step = (last - first) / max(1, len(kinds) - 1)
        return [(first + i * step + self.rng.uniform(-1, 1), kind) for i, kind in enumerate(kinds)]

    def start(self) -> None:
        log.info("fault plan: %s", ", ".join(f"{at:.0f}s {kind}" for at, kind in self.plan))
        self.thread.start()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def _run(self) -> None:
        metrics = self.rig.load.metrics
        for at, kind in self.plan:
            while metrics.now() < at:
                time.sleep(0.1)
            try:
                self.faults.append(getattr(self, kind)())
            except Exception as exc:  # a fault that could not be made is reported, not fatal
                log.exception("fault %s failed", kind)
                self.faults.append(Fault(kind, "?", metrics.now(), metrics.now(), None, f"injector error: {exc}"))
            fault = self.faults[-1]
            log.info("fault %s on %s at %.1fs, lifted at %.1fs %s", fault.kind, fault.target,
                     fault.started, fault.ended or 0, fault.note)

    # --- helpers ---------------------------------------------------------------------------

    def _now(self) -> float:
        return self.rig.load.metrics.now()

    def _hold(self, low: float, high: float) -> float:
        seconds = self.rng.uniform(low, high) * (0.6 if self.short else 1)
        time.sleep(seconds)
        return seconds

    def _finish(self, fault: Fault, check) -> Fault:
        """Mark the fault lifted and time the recovery in the background (the next fault need not wait)."""
        fault.ended = self._now()
        cap = RECOVERY_CAP
        started = time.monotonic()

        def watch():
            while time.monotonic() - started < cap:
                try:
                    if check():
                        fault.recovered_after = round(time.monotonic() - started, 2)
                        return
                except Exception:
                    pass
                time.sleep(0.2)

        watcher = threading.Thread(target=watch, name=f"recovery-{fault.kind}", daemon=True)
        watcher.start()
        self.watchers.append(watcher)
        return fault

    def wait_recoveries(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for watcher in self.watchers:
            watcher.join(max(0.1, deadline - time.monotonic()))

    def _finish_backlog(self, fault: Fault) -> Fault:
        """Recovered when everything in flight when the fault was lifted has settled."""
        marker = self.rig.backlog_marker()
        return self._finish(fault, lambda: self.rig.settled(marker))

    # --- the faults ------------------------------------------------------------------------

    def kill_worker(self) -> Fault:
        host = self.rng.choice(self.rig.workers)
        fault = Fault("kill_worker", host.name, self._now())
        before = self.rig.worker_names()
        host.kill()
        self._hold(1, 4)
        host.start()
        return self._finish(fault, lambda: bool(self.rig.worker_names() - before))

    def restart_redis(self) -> Fault:
        fault = Fault("restart_redis", "redis", self._now())
        self.rig.redis.stop()
        self._hold(1, 3)
        self.rig.redis.start()
        return self._finish(fault, self.rig.healthy)

    def restart_postgres(self) -> Fault:
        immediate = self.rng.random() < 0.5
        fault = Fault("restart_postgres", "postgres", self._now(), note="immediate (crash)" if immediate else "fast")
        self.rig.postgres.stop(immediate=immediate)
        self._hold(1, 3)
        self.rig.postgres.start()
        return self._finish(fault, self.rig.healthy)

    def proxmox_5xx(self) -> Fault:
        fault = Fault("proxmox_5xx", "proxmox", self._now())
        self.rig.proxmox.fail_next("*", r"/qemu/", 500, times=10 ** 6)
        self._hold(4, 10)
        self.rig.proxmox.clear_injections()
        return self._finish_backlog(fault)

    def proxmox_hang(self) -> Fault:
        fault = Fault("proxmox_hang", "proxmox", self._now())
        hang = self.rig.settings["PROXMOX_TIMEOUT"] + 2
        for _ in range(6):
            self.rig.proxmox.delay_next(r"/qemu/", hang)
        self._hold(4, 8)
        self.rig.proxmox.clear_injections()
        fault.note = f"6 calls held {hang}s"
        return self._finish_backlog(fault)

    def proxmox_lock(self) -> Fault:
        vmids = self.rig.vm_ids_to_lock(self.rng, 4)
        fault = Fault("proxmox_lock", f"VMs {','.join(map(str, vmids))}", self._now())
        for vmid in vmids:
            self.rig.proxmox.stick_lock(vmid, "backup")
        self._hold(4, 10)
        for vmid in vmids:
            self.rig.proxmox.clear_lock(vmid)
        return self._finish_backlog(fault)

    def pfsense_down(self) -> Fault:
        fault = Fault("pfsense_down", "pfsense", self._now())
        self.rig.pfsense.stop()
        self._hold(4, 10)
        self.rig.pfsense.start()
        return self._finish_backlog(fault)

    def callback_repeat(self) -> Fault:
        fault = Fault("callback_repeat", "platega", self._now())
        if not self.rig.features.get("payments"):
            fault.ended, fault.skipped, fault.note = self._now(), True, "skipped: feature absent"
            return fault
        self.rig.hooks.repeat_callbacks = True
        replayed = self.rig.hooks.replay_all()
        self._hold(4, 8)
        self.rig.hooks.repeat_callbacks = False
        fault.note = f"{replayed} old callbacks replayed, new ones sent 3x"
        fault.ended, fault.recovered_after = self._now(), 0.0
        return fault
