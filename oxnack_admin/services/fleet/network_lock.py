"""One pfSense change at a time, across every web and worker process.

pfSense v2 ids are array indexes that shift when an earlier object is deleted: between our
"find the object's id" and "delete that id", another release's delete can make the id point
at someone else's NAT, rule or mapping. Every find-delete-apply and create-apply runs under
this one lock, so ids cannot shift under us.

A PostgreSQL session-level advisory lock on a dedicated connection, like the provisioning
runs' lock: a worker killed while it holds it loses it with its connection at once, instead
of blocking every other change until a Redis TTL ran out.
"""
import contextlib
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from oxnack_admin.clients.errors import TransientRemoteError
from oxnack_admin.extensions import db
from oxnack_admin.services.ops import advisory_locks

LOCK_CLASS = advisory_locks.PFSENSE_CHANGES  # the one pfSense lock: (this, 0)
WAIT_SECONDS = 120  # how long a change waits for the one before it (a few calls of PFSENSE_TIMEOUT)


class PfSenseBusy(TransientRemoteError):
    """Another change held pfSense for too long; trying again later is safe."""


@contextlib.contextmanager
def pfsense_changes() -> Iterator[None]:
    """Hold the pfSense lock for the block; raises PfSenseBusy when it cannot be had in time."""
    connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        connection.execute(text(f"SET lock_timeout = '{int(WAIT_SECONDS * 1000)}ms'"))
        try:
            connection.execute(text("SELECT pg_advisory_lock(:kind, 0)"), {"kind": LOCK_CLASS})
        except OperationalError as error:  # lock_timeout: 55P03
            raise PfSenseBusy(f"pfSense is busy with another change (waited {WAIT_SECONDS} s); try again") from error
        finally:
            connection.execute(text("RESET lock_timeout"))
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:kind, 0)"), {"kind": LOCK_CLASS})
    finally:
        connection.close()
