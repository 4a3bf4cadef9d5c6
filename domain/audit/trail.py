"""The audit trail: who changed what, from which value to which, and why; written with each change, read per record.

Every concept writes it in the transaction of its change (`from domain.audit import trail as audit_log`).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import DateTime, ForeignKeyConstraint, Index, Integer, Select, String, Text, Uuid, func, inspect
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Access, Action, Resource
from domain.access.unit_of_work import Protected, UnitOfWork
from domain.shared.base import Base, TenantScoped, utcnow
from domain.shared.errors import Forbidden


class AuditEvent(Protected, TenantScoped, Base):
    """One change to one record; `changes` maps a field to its old and new value."""

    __resource__ = Resource.AUDIT_EVENT

    __tablename__ = "audit_event"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        Index("ix_audit_record", "tenant_id", "record_type", "record_id", "occurred_at"),
    )

    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=utcnow)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    actor_name: Mapped[str] = mapped_column(String(320))
    record_type: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(60))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The record's version this change made (records people edit together; see domain/shared/record_versions.py).
    record_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


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


def events_of_record(uow: UnitOfWork, record_id: uuid.UUID) -> Select[tuple[AuditEvent]]:
    """The actor's visible events of one record; the caller has already shown the record is visible to them."""
    if not uow.access.can(Resource.AUDIT_EVENT, Action.READ):
        raise Forbidden("Your role may not read the audit trail.", field="recordId")
    return uow.visible(AuditEvent).where(AuditEvent.record_id == record_id)


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


def enum_columns(model: type[Base]) -> dict[str, type[Enum]]:
    """The enum-typed columns of a model, by column name: how an audited value maps back to its enum."""
    return {
        column.key: column.type.enum_class
        for column in inspect(model).columns
        if isinstance(column.type, SqlEnum) and column.type.enum_class is not None
    }
