"""The one "now" of the lifecycle, so tests can freeze it (PostgreSQL's now() is never used here).

LIFECYCLE_CLOCK_RATE > 1 (the soak's setting) makes it run that much faster from
LIFECYCLE_CLOCK_EPOCH: billing periods pass in seconds, and every process of the soak agrees on
"now" without talking to the others. Production refuses any rate but 1 (settings.py).
"""
from datetime import datetime, timezone

from flask import current_app, has_app_context


def now() -> datetime:
    real = datetime.now(timezone.utc)
    rate = current_app.config.get("LIFECYCLE_CLOCK_RATE", 1) if has_app_context() else 1
    if rate == 1:
        return real
    epoch = datetime.fromtimestamp(current_app.config["LIFECYCLE_CLOCK_EPOCH"], timezone.utc)
    return epoch + (real - epoch) * rate
