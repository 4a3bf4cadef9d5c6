"""Writing and reading the audit trail."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.actor import Access, Action, Resource
from domain.audit.events import AuditEvent
from domain.shared.errors import Forbidden


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Fields whose value changed, as {field: {"old": …, "new": …}}."""
    return {
        name: {"old": _jsonable(before.get(name)), "new": _jsonable(after[name])}
        for name in after
        if before.get(name) != after[name]
    }


def record(
    session: AsyncSession,
    access: Access,
    *,
    record_type: str,
    record_id: uuid.UUID,
    action: str,
    changes: dict[str, dict[str, Any]] | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """Add an audit event to the caller's transaction."""
    actor = access.actor
    event = AuditEvent(
        tenant_id=actor.tenant_id,
        actor_user_id=actor.user_id,
        actor_name=actor.audit_name,
        record_type=record_type,
        record_id=record_id,
        action=action,
        changes=changes or {},
        reason=reason,
    )
    session.add(event)
    return event


def created_changes(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: {"old": None, "new": _jsonable(v)} for k, v in values.items() if v is not None}


def events_for_record_query(access: Access, record_id: uuid.UUID) -> Select[tuple[AuditEvent]]:
    """Events of one record; the caller has already shown the record is visible to the actor."""
    if not access.can(Resource.AUDIT_EVENT, Action.READ):
        raise Forbidden("Your role may not read the audit trail.", field="recordId")
    return select(AuditEvent).where(access.rows(Resource.AUDIT_EVENT), AuditEvent.record_id == record_id)


async def apply_and_record(
    session: AsyncSession, access: Access, row: Any, record_type: str, values: dict[str, Any]
) -> None:
    """Set `values` on a loaded row and audit whichever of them really changed (old and new)."""
    before = {key: getattr(row, key) for key in values}
    for key, value in values.items():
        setattr(row, key, value)
    await session.flush()
    changed = diff(before, values)
    if changed:
        record(session, access, record_type=record_type, record_id=row.id, action="updated", changes=changed)
