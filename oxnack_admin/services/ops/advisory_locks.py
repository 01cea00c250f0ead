"""PostgreSQL session-level advisory locks on a connection of their own.

A lock held this way dies with its connection, so a worker killed mid-job frees it at once
(no Redis TTL to wait out). Each kind of work has its own first key; the second is the id.
"""
import contextlib
from collections.abc import Iterator

from sqlalchemy import text

from oxnack_admin.extensions import db

PROVISIONING_RUN = 7301
PFSENSE_CHANGES = 7302
SERVER_WIPE = 7303
CRYPTO_WATCHER = 7304  # one crypto watcher pass at a time (key 0)


@contextlib.contextmanager
def try_exclusive(kind: int, key: int) -> Iterator[bool]:
    """Yield True if this process now holds (kind, key), False if another one does; released on exit."""
    connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        ours = connection.scalar(text("SELECT pg_try_advisory_lock(:kind, :key)"), {"kind": kind, "key": key})
        try:
            yield bool(ours)
        finally:
            if ours:
                connection.execute(text("SELECT pg_advisory_unlock(:kind, :key)"), {"kind": kind, "key": key})
    finally:
        connection.close()
