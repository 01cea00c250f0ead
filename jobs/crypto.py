"""The crypto watcher job (queue `default`, every CRYPTO_POLL_SECONDS): one pass over the confirmed blocks."""
from oxnack_admin.services.crypto import watcher


class WatcherPassFailed(Exception):
    """The node could not be used this pass; nothing was lost, the next pass starts where this one stopped."""

    retryable = True


def watch_chain() -> dict:
    """Scan confirmed blocks, record and credit what reached the deposit addresses."""
    result = watcher.run_pass()
    if result.outcome == "failed":
        raise WatcherPassFailed(result.detail)
    return {"outcome": result.outcome, "recorded": result.recorded, "credited": [str(r) for r in result.credited]}
