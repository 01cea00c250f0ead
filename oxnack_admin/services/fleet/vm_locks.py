"""One operation per VM at a time: a Redis lock (SET NX EX) shared by provisioning, wipes and power."""
import secrets

from flask import current_app

from oxnack_admin.extensions import redis_client

DEFAULT_TTL_SECONDS = 15 * 60  # longer than any single operation; a crashed worker's lock expires

# Delete the lock only if we still hold it (another holder may have it after our TTL ran out).
_RELEASE_IF_OWNER = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class VmBusy(Exception):
    """Another operation holds the VM's lock; the job tries again later."""

    retryable = True


def lock_key(server_id: int) -> str:
    return f"oxnack:vm-lock:{server_id}"


def acquire(server_id: int, purpose: str, ttl: int = DEFAULT_TTL_SECONDS) -> str | None:
    """A token proving we hold the VM's lock, or None when someone else holds it."""
    token = f"{purpose}:{secrets.token_hex(8)}"
    return token if redis_client.set(lock_key(server_id), token, nx=True, ex=ttl) else None


def release(server_id: int, token: str) -> bool:
    return bool(redis_client.eval(_RELEASE_IF_OWNER, 1, lock_key(server_id), token))


def holder(server_id: int) -> str | None:
    """What holds the lock now ("power:start:...", "provision:..."), for messages and the console."""
    value = redis_client.get(lock_key(server_id))
    return value.decode() if value else None


def acquire_for_attempt(server_id: int, purpose: str, who: str) -> str:
    """The lock for one attempt of a recorded run (purpose "provision:<id>", "wipe:<id>"); VmBusy when held.

    A lock still held under the same purpose is an earlier attempt of that run that died: the
    caller holds the run's advisory lock, so that attempt is gone and the lock is ours to take over.
    """
    ttl = current_app.config.get("PROVISIONING_LOCK_TTL", DEFAULT_TTL_SECONDS)
    token = acquire(server_id, purpose, ttl)
    if token:
        return token
    held_by = holder(server_id) or ""
    if held_by.startswith(purpose + ":"):
        release(server_id, held_by)
        token = acquire(server_id, purpose, ttl)
        if token:
            return token
    raise VmBusy(f"VM {server_id} is busy ({held_by or 'locked'}); {who} will try again")
