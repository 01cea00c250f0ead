"""Reading the audit log in the console: filters, paging and what changed."""
from dataclasses import dataclass

from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent
from oxnack_admin.services.paging import ListParams, Page, like_escape, paginate

SORTS = {"when": (AuditEvent.created_at, AuditEvent.id), "actor": (AuditEvent.actor, AuditEvent.id),
         "action": (AuditEvent.action, AuditEvent.id)}
FILTERS = ("actor", "action", "target_type", "target_id")


def search_events(params: ListParams) -> Page:
    """Events filtered by actor (part of the e-mail), action (prefix), and target."""
    statement = select(AuditEvent)
    filters = params.filters
    if filters.get("actor"):
        statement = statement.where(AuditEvent.actor.ilike(f"%{like_escape(filters['actor'])}%", escape="\\"))
    if filters.get("action"):
        statement = statement.where(AuditEvent.action.ilike(f"{like_escape(filters['action'])}%", escape="\\"))
    if filters.get("target_type"):
        statement = statement.where(AuditEvent.target_type == filters["target_type"])
    if filters.get("target_id"):
        statement = statement.where(AuditEvent.target_id == filters["target_id"])
    if params.q:
        statement = statement.where(AuditEvent.action.ilike(f"%{like_escape(params.q)}%", escape="\\")
                                    | AuditEvent.actor.ilike(f"%{like_escape(params.q)}%", escape="\\"))
    return paginate(statement, params, SORTS)


@dataclass(frozen=True)
class Change:
    key: str
    before: object
    after: object
    changed: bool


def changes(event: AuditEvent) -> list[Change]:
    """Every key of before and after, marking the ones whose value differs."""
    before, after = event.before or {}, event.after or {}
    keys = list(before) + [k for k in after if k not in before]
    return [Change(k, before.get(k), after.get(k), event.before is not None and event.after is not None
                   and before.get(k) != after.get(k)) for k in keys]


def target_types() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.target_type).where(AuditEvent.target_type.is_not(None))
                                   .distinct().order_by(AuditEvent.target_type)))
