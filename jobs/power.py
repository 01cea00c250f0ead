"""Power action jobs (queue `default`), one per request, under the VM lock the request took."""
from oxnack_admin.services.fleet import power, vm_locks


def run_power_action(server_id: int, action: str, lock_token: str, requested_by: str,
                     owner: str | None = None) -> None:
    """Start, stop or restart the VM; the lock is released whatever happens."""
    try:
        power.carry_out_power_action(server_id, action, requested_by, owner)
    finally:
        vm_locks.release(server_id, lock_token)
