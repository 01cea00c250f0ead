"""The one "now" of the lifecycle, so tests can freeze it (PostgreSQL's now() is never used here)."""
from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)
