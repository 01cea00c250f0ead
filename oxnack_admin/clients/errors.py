"""Errors raised by the remote-system clients, split by whether a retry can help."""


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


def short(text: object, limit: int = 200) -> str:
    """Squeeze a remote error text onto one bounded line for staff-facing messages."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
