"""Proxy resale jobs (queue `default`): the scheduled inventory sync, and a sync staff started."""
import logging

from flask import current_app

from oxnack_admin.models.enums import ProxySyncTrigger, RunState
from oxnack_admin.services.proxies import sync

log = logging.getLogger(__name__)


class SyncFailed(RuntimeError):
    """The run is recorded as failed; raised so RQ records the job as failed too."""


def sync_inventory() -> int | None:
    """The scheduled sync; skipped when resale is off or another sync is running. Returns the run id."""
    if not current_app.config.get("SOCKS_API_URL"):
        return None
    try:
        run = sync.start_run(ProxySyncTrigger.SCHEDULE)
    except sync.SyncBusy:
        log.info("proxy sync skipped: another sync is running")
        return None
    return run_sync(run.id)


def run_sync(run_id: int) -> int:
    """Carry out a started sync run (the console starts it, then polls the row)."""
    run = sync.execute(run_id)
    if run.state != RunState.DONE:
        raise SyncFailed(f"proxy sync {run_id} failed: {run.error}")
    return run_id
