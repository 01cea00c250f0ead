"""Which failures are worth retrying, and how to describe a failure to staff in one safe line."""
import redis
from rq.timeouts import BaseTimeoutException
from sqlalchemy.exc import DBAPIError, OperationalError

from oxnack_admin.clients.errors import RemoteError, short


def is_transient(exc: BaseException) -> bool:
    """True when the same call may succeed later: timeouts, lost connections, 5xx, a busy VM.

    Errors that carry a `retryable` flag (remote clients, busy VMs, mail delivery) decide for
    themselves. Anything else unknown is a bug or bad data, which retrying cannot fix.
    """
    flag = getattr(exc, "retryable", None)
    if flag is not None:
        return bool(flag)
    if isinstance(exc, DBAPIError):  # the database went away or a deadlock: yes; a constraint: no
        return isinstance(exc, OperationalError) or bool(exc.connection_invalidated)
    return isinstance(exc, (BaseTimeoutException, OSError, redis.exceptions.ConnectionError,
                            redis.exceptions.TimeoutError))


def describe(exc: BaseException) -> str:
    """One bounded line for step errors, mail errors and the console (no tracebacks, no secrets)."""
    if isinstance(exc, RemoteError):
        return exc.message
    text = str(exc)
    return short(f"{type(exc).__name__}: {text}" if text else type(exc).__name__, 300)
