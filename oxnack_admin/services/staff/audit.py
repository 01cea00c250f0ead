"""Recording staff and system actions in the audit log."""
from flask import has_request_context, request

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent


def record(actor, action: str, target_type: str | None = None, target_id=None,
           before: dict | None = None, after: dict | None = None) -> AuditEvent:
    """Add an audit event to the current transaction. `actor` is a Staff row or None for jobs."""
    event = AuditEvent(
        staff_id=getattr(actor, "id", None),
        actor=getattr(actor, "email", None) or "system",
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=_jsonable(before),
        after=_jsonable(after),
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event


def _jsonable(values: dict | None) -> dict | None:
    if values is None:
        return None
    return {key: (value if isinstance(value, (int, float, bool, str, type(None), list, dict)) else str(value))
            for key, value in values.items()}
