"""Record versions, for optimistic concurrency on the records people edit together.

Each change people make to such a record counts up its `row_version`. A client sends back the version it
read; a change made from an older version is refused, naming the fields changed since, and writes nothing.
SQLAlchemy's `version_id_col` puts `WHERE row_version = <the version loaded>` into every UPDATE, so even a
write that skipped the check cannot silently overwrite a concurrent one (it fails with StaleDataError).

Bookkeeping (what the ERP last said, when a record was synchronised) is written with the record but is
nobody's edit: it makes no new version, so it never turns a person's read stale.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any, ClassVar

from sqlalchemy import Integer, event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, UOWTransaction, declared_attr, mapped_column
from sqlalchemy.orm.util import identity_key

from domain.access.unit_of_work import system_unit_of_work
from domain.audit.trail import AuditEvent
from domain.shared.errors import ErrorCode, FieldError, StaleVersion, ValidationFailed

# Written by SQLAlchemy itself on every change; never a person's edit.
_ALWAYS_BOOKKEEPING = frozenset({"row_version", "updated_at"})
_BY_RECORD_TYPE: dict[str, type[Versioned]] = {}


class Versioned:
    """A record people edit together: `row_version` counts their changes (1 when created)."""

    row_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The record type its audit events carry ("opportunity"), and how messages name it.
    audit_record_type: ClassVar[str]
    # Attributes whose changes are bookkeeping: they make no new version and are not named in a conflict.
    bookkeeping_fields: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "audit_record_type" in cls.__dict__:
            _BY_RECORD_TYPE[cls.audit_record_type] = cls

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        # The version is counted below (only for people's changes), but SQLAlchemy still checks it on UPDATE.
        return {"version_id_col": cls.__table__.c.row_version, "version_id_generator": False}  # type: ignore[attr-defined]


@event.listens_for(Session, "before_flush")
def _count_versions(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """Count a new version for each edited record, then stamp new audit events with their record's version."""
    for row in session.dirty:
        if not isinstance(row, Versioned):
            continue
        changed = {attr.key for attr in inspect(row).attrs if attr.history.has_changes()}
        if "row_version" not in changed and changed - _ALWAYS_BOOKKEEPING - row.bookkeeping_fields:
            row.row_version = row.row_version + 1
    for new in session.new:
        if isinstance(new, AuditEvent) and new.record_version is None:
            model = _BY_RECORD_TYPE.get(new.record_type)
            if model is None:
                continue
            target = session.identity_map.get(identity_key(model, (new.tenant_id, new.record_id)))
            if isinstance(target, Versioned):
                new.record_version = target.row_version


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def fields_changed_since(
    session: AsyncSession, row: Versioned, version: int, *, hidden: Collection[str] = ()
) -> list[str]:
    """The fields (camelCase) the audit trail shows changed after `version`, in the order they first changed."""
    record_id: uuid.UUID = row.id  # type: ignore[attr-defined]
    # The trail of a record the actor is changing, whatever their role may read of audit events: `hidden`
    # leaves out the fields they may not see.
    trail = system_unit_of_work(session, row.tenant_id, "record versions: what changed since a read")  # type: ignore[attr-defined]
    changes = (
        await session.execute(
            trail.visible_columns(AuditEvent, AuditEvent.changes)
            .where(
                AuditEvent.record_type == row.audit_record_type,
                AuditEvent.record_id == record_id,
                AuditEvent.record_version > version,
            )
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        )
    ).scalars()
    left_out = _ALWAYS_BOOKKEEPING | row.bookkeeping_fields | set(hidden)
    names: dict[str, None] = {}
    for change in changes:
        names.update((_camel(key), None) for key in change if key not in left_out)
    return list(names)


async def require_version(
    session: AsyncSession,
    row: Versioned,
    expected: int | None,
    *,
    field: str = "expectedVersion",
    hidden: Collection[str] = (),
) -> None:
    """Refuse a change made from an older read than the row's current version (None: no check, last write wins).

    Call it on a row locked for update, before changing anything. `hidden` are fields the actor may not
    read: a conflict does not name them.
    """
    if expected is None or expected == row.row_version:
        return
    label = row.audit_record_type
    current = row.row_version
    if not 1 <= expected < current:
        message = f"{field} {expected} is not a version this {label} has had; it is at version {current}."
        raise ValidationFailed([FieldError(field, ErrorCode.INVALID, message)])
    changed = await fields_changed_since(session, row, expected, hidden=hidden)
    what = f": {', '.join(changed)} changed" if changed else ""
    message = (
        f"This {label} was changed by someone else after you read it (you read version {expected}, it is now "
        f"version {current}{what}). Nothing was saved: read it again and make your change on the current version."
    )
    raise StaleVersion(message, field=field, changed=changed)
