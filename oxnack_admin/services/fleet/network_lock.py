"""One pfSense change at a time, across every web and worker process.

pfSense v2 ids are array indexes that shift when an earlier object is deleted: between our
"find the object's id" and "delete that id", another release's delete can make the id point
at someone else's NAT, rule or mapping. Every find-delete-apply and create-apply runs under
this one Redis lock, so ids cannot shift under us.
"""
import contextlib
from collections.abc import Iterator

from redis.exceptions import LockError

from oxnack_admin.clients.errors import TransientRemoteError
from oxnack_admin.extensions import redis_client

LOCK_KEY = "oxnack:pfsense-lock"
LOCK_TTL_SECONDS = 300  # longer than any change (a few calls of PFSENSE_TIMEOUT); a dead holder's lock expires
WAIT_SECONDS = 120  # how long a change waits for the one before it


class PfSenseBusy(TransientRemoteError):
    """Another change held pfSense for too long; trying again later is safe."""


@contextlib.contextmanager
def pfsense_changes() -> Iterator[None]:
    """Hold the pfSense lock for the block; raises PfSenseBusy when it cannot be had in time."""
    lock = redis_client.connection.lock(LOCK_KEY, timeout=LOCK_TTL_SECONDS, blocking_timeout=WAIT_SECONDS,
                                        thread_local=False)
    if not lock.acquire():
        raise PfSenseBusy(f"pfSense is busy with another change (waited {WAIT_SECONDS} s); try again")
    try:
        yield
    finally:
        try:
            lock.release()
        except LockError:  # it expired and may be someone else's now; theirs to release
            pass
