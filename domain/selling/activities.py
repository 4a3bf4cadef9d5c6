"""Activities: calls, meetings, visits and tasks on an account or opportunity (the model and its use cases)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, Enum, ForeignKeyConstraint, Index, Select, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import Protected, UnitOfWork
from domain.audit import trail as audit_log
from domain.selling.accounts import Account
from domain.selling.opportunities import Opportunity, active_user_or_raise
from domain.shared.base import Base, TenantScoped, Timestamped, utcnow
from domain.shared.errors import ErrorCode, Forbidden, Validator


class ActivityKind(StrEnum):
    CALL = "call"
    MEETING = "meeting"
    VISIT = "visit"
    TASK = "task"
    EMAIL = "email"


class Activity(Protected, TenantScoped, Timestamped, Base):
    """Something done (or to do) about an account, usually on one of its opportunities."""

    __resource__ = Resource.ACTIVITY
    __label__ = "activity"

    __tablename__ = "activity"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "account_id"], ["account.tenant_id", "account.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "opportunity_id"], ["opportunity.tenant_id", "opportunity.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["app_user.tenant_id", "app_user.id"]),
        Index("ix_activity_opportunity", "tenant_id", "opportunity_id", "occurred_at"),
        Index("ix_activity_account", "tenant_id", "account_id", "occurred_at"),
        ForeignKeyConstraint(["tenant_id", "assignee_id"], ["app_user.tenant_id", "app_user.id"]),
        Index("ix_activity_open_tasks", "tenant_id", "assignee_id", "done", "due_at"),
    )

    kind: Mapped[ActivityKind] = mapped_column(Enum(ActivityKind, name="activity_kind"))
    subject: Mapped[str] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    done: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # Who must do a task; the person who logged it when nobody else is named.
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


# --- Use cases -------------------------------------------------------------------------------


@dataclass
class NewActivity:
    """What happened (or is to happen), and on which account or opportunity."""

    kind: ActivityKind
    subject: str
    opportunity_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    notes: str | None = None
    occurred_at: datetime | None = None
    due_at: datetime | None = None
    done: bool | None = None
    assignee_id: uuid.UUID | None = None


def activities_query(
    uow: UnitOfWork, *, opportunity_id: uuid.UUID | None = None, account_id: uuid.UUID | None = None
) -> Select[Activity]:
    """Visible activities, optionally of one opportunity or account."""
    stmt = uow.visible(Activity)
    if opportunity_id is not None:
        stmt = stmt.where(Activity.opportunity_id == opportunity_id)
    if account_id is not None:
        stmt = stmt.where(Activity.account_id == account_id)
    return stmt


async def log_activity(uow: UnitOfWork, cmd: NewActivity) -> Activity:
    """Record a call, meeting, visit, e-mail or task on a visible opportunity or account."""
    actor = uow.actor
    if not uow.access.can(Resource.ACTIVITY, Action.CREATE):
        raise Forbidden("Your role may not log activities.")
    if actor.user_id is None:
        raise Forbidden("Only a person can log an activity.")
    v = Validator()
    subject = v.require_text("subject", cmd.subject, max_length=300)
    notes = v.require_text("notes", cmd.notes, max_length=20_000, required=False)
    if (cmd.opportunity_id is None) == (cmd.account_id is None):
        v.fail("opportunityId", ErrorCode.INVALID, "Give exactly one of opportunityId or accountId.")
    if cmd.occurred_at is not None and cmd.occurred_at.tzinfo is None:
        v.fail("occurredAt", ErrorCode.INVALID, "occurredAt must carry a time zone offset.")
    if cmd.due_at is not None and cmd.due_at.tzinfo is None:
        v.fail("dueAt", ErrorCode.INVALID, "dueAt must carry a time zone offset.")
    if cmd.kind is ActivityKind.TASK and cmd.due_at is None:
        v.fail("dueAt", ErrorCode.REQUIRED, "A task needs a dueAt.")
    v.raise_if_any()
    if cmd.opportunity_id is not None:
        opportunity = await uow.get(Opportunity, cmd.opportunity_id, field="opportunityId")
        account_id, opportunity_id = opportunity.account_id, opportunity.id
    else:
        account = await uow.get(Account, cmd.account_id, field="accountId")
        account_id, opportunity_id = account.id, None
    done = cmd.done if cmd.done is not None else cmd.kind is not ActivityKind.TASK
    assignee_id = None
    if cmd.kind is ActivityKind.TASK:
        assignee_id = cmd.assignee_id or actor.user_id
        if cmd.assignee_id is not None:
            await active_user_or_raise(uow, cmd.assignee_id, "assigneeId")
    activity = Activity(
        tenant_id=actor.tenant_id,
        id=uuid.uuid4(),
        kind=cmd.kind,
        subject=subject,
        notes=notes,
        account_id=account_id,
        opportunity_id=opportunity_id,
        owner_id=actor.user_id,
        occurred_at=cmd.occurred_at or utcnow(),
        due_at=cmd.due_at,
        done=done,
        assignee_id=assignee_id,
    )
    uow.session.add(activity)
    await uow.session.flush()
    created = {
        "kind": cmd.kind,
        "subject": subject,
        "opportunity_id": opportunity_id,
        "account_id": account_id,
        "due_at": cmd.due_at,
    }
    audit_log.record(
        uow.session,
        uow.access,
        record_type="activity",
        record_id=activity.id,
        action="created",
        changes=audit_log.created_changes(created),
    )
    return activity


def open_tasks_query(uow: UnitOfWork, *, overdue_only: bool = False) -> Select[Activity]:
    """The actor's own open tasks that they may see; with `overdue_only`, only those already past due.

    Forbidden for a machine client: only a person has tasks.
    """
    if uow.actor.user_id is None:
        raise Forbidden("Only a person has tasks.")
    stmt = uow.visible(Activity).where(
        Activity.kind == ActivityKind.TASK, Activity.done.is_(False), Activity.assignee_id == uow.actor.user_id
    )
    if overdue_only:
        stmt = stmt.where(Activity.due_at < utcnow())
    return stmt


async def complete_task(uow: UnitOfWork, activity_id: uuid.UUID) -> Activity:
    """Mark a task done; its assignee or anyone who may edit it can."""
    activity = await uow.get(Activity, activity_id)
    if activity.kind is not ActivityKind.TASK:
        v = Validator()
        v.fail("id", ErrorCode.INVALID, "Only tasks are completed.")
        v.raise_if_any()
    if activity.assignee_id != uow.actor.user_id:
        activity = await uow.get(Activity, activity_id, action=Action.UPDATE, for_update=True)
    await audit_log.apply_and_record(uow.session, uow.access, activity, "activity", {"done": True})
    return activity
