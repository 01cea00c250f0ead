"""One operation per VM at a time: a Redis lock (SET NX EX) shared by provisioning and power."""
import secrets

from oxnack_admin.extensions import redis_client

DEFAULT_TTL_SECONDS = 15 * 60  # longer than any single operation; a crashed worker's lock expires

# Delete the lock only if we still hold it (another holder may have it after our TTL ran out).
_RELEASE_IF_OWNER = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


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
