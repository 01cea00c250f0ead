"""Errors raised by the remote-system clients, split by whether a retry can help."""
import requests


class RemoteError(Exception):
    """A remote system refused or failed a call; `str(exc)` is short and safe to show staff."""

    retryable = False

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TransientRemoteError(RemoteError):
    """Worth retrying later: timeout, connection error, HTTP 5xx, a VM lock, a task still running."""

    retryable = True


class PermanentRemoteError(RemoteError):
    """Retrying the same call will fail again: HTTP 4xx, a failed task, bad data."""


def error_for_status(status: int, message: str) -> RemoteError:
    """Pick the error class for an HTTP error status (408 and 429 are worth a retry)."""
    if status >= 500 or status in (408, 429):
        return TransientRemoteError(message)
    return PermanentRemoteError(message)


def transport_error(exc: requests.exceptions.RequestException, system: str, url: str, what: str) -> RemoteError:
    """Classify a failure to talk to a remote system at all: only a rejected certificate is final."""
    # Order matters: ConnectTimeout is also a ConnectionError, SSLError is one too.
    if isinstance(exc, requests.exceptions.Timeout):
        return TransientRemoteError(f"{system} did not answer in time ({what})")
    if isinstance(exc, requests.exceptions.SSLError):
        return PermanentRemoteError(f"{system} TLS certificate was not accepted ({what})")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return TransientRemoteError(f"cannot reach {system} at {url} ({what})")
    return TransientRemoteError(f"{system} request failed ({what}): {type(exc).__name__}")


def short(text: object, limit: int = 200) -> str:
    """Squeeze a remote error text onto one bounded line for staff-facing messages."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
