"""Activities: calls, meetings, visits and tasks on an account or opportunity (the model and its use cases)."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from operator import itemgetter
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Boolean,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Index,
    Select,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    func,
    insert,
    literal,
    null,
    select,
    true,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Mapper, mapped_column
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.sql.util import ClauseAdapter

from domain.access.actor import Access, Action, Resource
from domain.access.principals import (
    LoadedActor,
    SignedWrite,
    fetch_again_on_deadlock,
    signed_write,
    signed_write_outcome,
    signed_write_parameters,
)
from domain.access.unit_of_work import Protected, UnitOfWork, per_row, resource_of
from domain.access.usage_budgets import Budget, Charge
from domain.audit import trail as audit_log
from domain.audit.trail import AuditEvent
from domain.identity.users import User
from domain.selling.accounts import Account
from domain.selling.opportunities import Opportunity, active_user_or_raise
from domain.shared.base import Base, TenantScoped, Timestamped, utcnow
from domain.shared.errors import ErrorCode, Forbidden, NotFound, Validator
from domain.shared.prepared import Prepared, fetch, prepare

M = TypeVar("M")


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


def _checked(access: Access, cmd: NewActivity) -> tuple[uuid.UUID, str | None, str | None]:
    """The person logging, and the subject and notes as stored, once the role and the input pass their rules."""
    actor = access.actor
    if not access.can(Resource.ACTIVITY, Action.CREATE):
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
    return actor.user_id, subject, notes


async def log_activity(uow: UnitOfWork, cmd: NewActivity) -> Activity:
    """Record a call, meeting, visit, e-mail or task on a visible opportunity or account."""
    actor = uow.actor
    _, subject, notes = _checked(uow.access, cmd)
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


@dataclass(frozen=True)
class LoggedActivity:
    """An activity logged in one statement, and the records its payload shows, each as the actor may see them."""

    # None when the actor's rule for activities does not reach it (their role reads fewer activities than deals).
    activity: Activity | None
    # The opportunity or account it was logged on: visible, or nothing would have been logged.
    target: Opportunity | Account
    # The person who logged it, None when the actor's rule for users hides them.
    owner: User | None


class NotOneStatement(Exception):
    """The actor's row rules cannot be run as one prepared statement; `log_activity` logs it instead."""


def loggable_in_one_statement(cmd: NewActivity) -> bool:
    """Whether `log_activity_in_one_statement` can log it: all but a task for someone named, whose assignee must
    first be found visible and active (`active_user_or_raise`, with its own errors)."""
    return cmd.kind is not ActivityKind.TASK or cmd.assignee_id is None


# Statements by (target model, what the actor's row rules depend on); the rules are SQL PostgreSQL evaluates
# when the statement runs, so a kept statement stays right as records change.
_STATEMENTS: OrderedDict[Hashable, Prepared] = OrderedDict()
# The same with the sign-in check and the charge (`run_signed`), by (target model, rules key, with a session).
_SIGNED_STATEMENTS: OrderedDict[Hashable, Prepared] = OrderedDict()
_MAX_STATEMENTS = 1024


def _kept(cache: OrderedDict[Hashable, Prepared], key: Hashable, build: Callable[[], Any]) -> Prepared:
    """The statement kept under `key`, prepared from `build()` the first time (the most recent `_MAX_STATEMENTS`)."""
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
        return found
    found = cache[key] = prepare(build())
    if len(cache) > _MAX_STATEMENTS:
        cache.popitem(last=False)
    return found


async def log_activity_in_one_statement(uow: UnitOfWork, cmd: NewActivity, *, rules_key: Hashable) -> LoggedActivity:
    """`log_activity` as one statement, on the session of a unit of work outside any transaction
    (`in_one_statement`): `OneStatementLog` on the unit's session."""
    return await OneStatementLog(uow.access, cmd, rules_key=rules_key).run(uow.session)


class OneStatementLog:
    """`log_activity` as one statement: the target's visibility check, the activity, its audit event and the
    read-back of what the payload shows, outside any transaction.

    The same rules, errors and rows as `log_activity`; what changes is the cost. Through the ORM the change is
    seven round trips (BEGIN, the target, the activity, the audit event, COMMIT, then the re-read of the
    activity and of its deal and owner by the loaders) and a few milliseconds of Python building the row rules
    and hydrating entities. Here one data-modifying WITH does it all, and a single statement is atomic without a
    transaction: nothing is written unless the target is visible. The statement is built once per target model
    and `rules_key` (what the actor's row rules depend on: tenant, user, organization, territory and granted
    scopes; the caller's `compiled_reads.run.access_key`), and runs on the driver.

    Made in two steps, so that a caller can tell before anything is sent whether this path takes the change:
    building it checks the role and the input (a DomainError) and prepares the statement (`NotOneStatement`
    for an actor whose row rules cannot be prepared, or a task for someone named, who must first be found
    visible and active); `run` sends it, on a session or on a bare asyncpg connection.
    """

    def __init__(self, access: Access, cmd: NewActivity, *, rules_key: Hashable) -> None:
        if not loggable_in_one_statement(cmd):
            raise NotOneStatement("a task for a named assignee is logged by log_activity, which checks the assignee")
        self.access, self.cmd, self.rules_key = access, cmd, rules_key
        self.user_id, self.subject, self.notes = _checked(access, cmd)
        self.on_opportunity = cmd.opportunity_id is not None
        self.target_model: type[Opportunity] | type[Account] = Opportunity if self.on_opportunity else Account
        try:
            self.statement = _kept(
                _STATEMENTS, (self.target_model, rules_key), lambda: _logging_statement(access, self.target_model)
            )
        except ValueError as exc:  # a row rule the driver cannot take as it is (an IN list of values)
            raise NotOneStatement(str(exc)) from exc

    async def run(self, on: Any) -> LoggedActivity:
        """Log it, on `on` (a session, or a bare asyncpg connection outside any transaction)."""
        rows = await fetch(on, self.statement, self._parameters())
        if not rows:
            raise self._not_found()
        (row,) = rows
        return self._logged(row)

    async def run_signed(
        self, driver: Any, session_id: uuid.UUID | None, budgets: Sequence[Budget], cost: int, policy_version: int
    ) -> SignedLog | None:
        """`run` with the sign-in check and the charge of `cost` in the same statement (`SignedWrite`), on a bare
        asyncpg connection outside any transaction: the activity is logged only if the check finds the person as
        `access` has them, at `policy_version`, and every budget pays. None when no one is signed in (nothing is
        charged or written). A target not visible is its `error` (the charge is taken, as a resolver's is)."""
        actor = self.access.actor
        with_session = session_id is not None
        statement = _kept(
            _SIGNED_STATEMENTS,
            (self.target_model, self.rules_key, with_session),
            lambda: _logging_statement(self.access, self.target_model, signed_write(with_session)),
        )
        parameters = self._parameters() | signed_write_parameters(session_id, budgets, cost, actor, policy_version)
        rows = statement.rows(await fetch_again_on_deadlock(driver, statement.sql, statement.arguments(parameters)))
        found = signed_write_outcome(actor.tenant_id, session_id, budgets, cost, rows)
        if found is None:
            return None
        loaded, taken = found
        row = rows[0]
        if not row["written"]:
            return SignedLog(loaded, taken)
        if row["target_id"] is None:
            return SignedLog(loaded, taken, error=self._not_found())
        return SignedLog(loaded, taken, logged=self._logged(row))

    def _parameters(self) -> dict[str, Any]:
        """The statement's values for one run: a new activity and audit event, logged now."""
        cmd, actor = self.cmd, self.access.actor
        now = utcnow()
        is_task = cmd.kind is ActivityKind.TASK
        # The audit event's changes as `log_activity` writes them; the account of a deal is known only to the
        # database.
        known = {"kind": cmd.kind, "subject": self.subject, "opportunity_id": cmd.opportunity_id, "due_at": cmd.due_at}
        return {
            "target_id": cmd.opportunity_id if self.on_opportunity else cmd.account_id,
            "tenant_id": actor.tenant_id,
            "activity_id": uuid.uuid4(),
            "kind": cmd.kind,
            "subject": self.subject,
            "notes": self.notes,
            "owner_id": self.user_id,
            "occurred_at": cmd.occurred_at or now,
            "due_at": cmd.due_at,
            "done": cmd.done if cmd.done is not None else not is_task,
            "assignee_id": self.user_id if is_task else None,
            "now": now,
            "audit_id": uuid.uuid4(),
            "actor_name": actor.audit_name,
            "changes": audit_log.created_changes(known),
        }

    def _not_found(self) -> NotFound:
        label, field = ("opportunity", "opportunityId") if self.on_opportunity else ("account", "accountId")
        return NotFound(f"No {label} with that id.", field=field)

    def _logged(self, row: dict[str, Any]) -> LoggedActivity:
        owner = _as_loaded(User, row, "owner_") if row["owner_id"] is not None else None
        return LoggedActivity(
            activity=_as_loaded(Activity, row, "activity_") if row["activity_visible"] else None,
            target=_as_loaded(self.target_model, row, "target_"),
            owner=owner,
        )


@dataclass(frozen=True)
class SignedLog:
    """What `OneStatementLog.run_signed` found: who is signed in, the charge, and the activity if it was logged."""

    loaded: LoadedActor
    charge: Charge
    # Neither, when nothing was written: the person is not as planned, or a budget could not pay.
    logged: LoggedActivity | None = None
    # Nothing logged because the target is not visible (as `run` raises it).
    error: NotFound | None = None


def _logging_statement(
    access: Access, target_model: type[Opportunity] | type[Account], signing: SignedWrite | None = None
) -> Any:
    """The one statement of `OneStatementLog` for the actor of `access`, its values as bindparams.

    `target` reads the opportunity or account if the actor may see it (the rule `uow.get` applies, per row);
    `created` inserts the activity only from a target found; `audited` writes its audit event. The final select
    returns the activity with whether the actor's rule for activities reaches it (that rule evaluated over the
    inserted row, since a statement does not see its own writes in the table), the target, and the owner if the
    actor may see that user: what the loaders would read back, with the same rules.

    With `signing`, the statement also checks the sign-in and charges the budgets, and the target is read (so
    anything written) only on its gate: its rows are then the check's beside each budget's (none when no one is
    signed in), each with `written` and the change's columns (null when nothing was written).
    """
    gate = [] if signing is None else [signing.gate]
    target = (
        select(*_labelled(target_model, "target_"))
        .where(
            per_row(access.rows(resource_of(target_model), Action.READ)),
            target_model.id == bindparam("target_id"),
            *gate,
        )
        .cte("target")
    )
    account_id: Any
    opportunity_id: Any
    if target_model is Opportunity:
        account_id, opportunity_id = target.c.target_account_id, target.c.target_id
    else:
        account_id, opportunity_id = target.c.target_id, sql_cast(null(), Uuid)
    activity = cast(Table, Activity.__table__)
    values: dict[str, Any] = {
        "tenant_id": _param("tenant_id", activity.c.tenant_id),
        "id": _param("activity_id", activity.c.id),
        "kind": _param("kind", activity.c.kind),
        "subject": _param("subject", activity.c.subject),
        "notes": _param("notes", activity.c.notes),
        "account_id": account_id,
        "opportunity_id": opportunity_id,
        "owner_id": _param("owner_id", activity.c.owner_id),
        "occurred_at": _param("occurred_at", activity.c.occurred_at),
        "due_at": _param("due_at", activity.c.due_at),
        "done": _param("done", activity.c.done),
        "assignee_id": _param("assignee_id", activity.c.assignee_id),
        "created_at": _param("now", activity.c.created_at),
        "updated_at": _param("now", activity.c.updated_at),
    }
    created = (
        insert(activity)
        .from_select(list(values), select(*values.values()).select_from(target))
        .returning(*activity.c)
        .cte("created")
    )
    audit = cast(Table, AuditEvent.__table__)
    account_change = func.jsonb_build_object(
        literal("account_id"),
        func.jsonb_build_object(literal("old"), null(), literal("new"), sql_cast(created.c.account_id, Text)),
    )
    audit_values: dict[str, Any] = {
        "tenant_id": _param("tenant_id", audit.c.tenant_id),
        "id": _param("audit_id", audit.c.id),
        "occurred_at": _param("now", audit.c.occurred_at),
        "actor_user_id": _param("owner_id", audit.c.actor_user_id),
        "actor_name": _param("actor_name", audit.c.actor_name),
        "record_type": literal("activity", String),
        "record_id": created.c.id,
        "action": literal("created", String),
        "changes": _param("changes", audit.c.changes).op("||", return_type=JSONB)(account_change),
    }
    audited = (
        insert(audit)
        .from_select(list(audit_values), select(*audit_values.values()).select_from(created))
        .returning(audit.c.id)
        .cte("audited")
    )
    owner = (
        select(*_labelled(User, "owner_"))
        .where(per_row(access.rows(resource_of(User), Action.READ)), User.id == bindparam("owner_id"))
        .subquery("owner")
    )
    activity_rule = ClauseAdapter(created).traverse(per_row(access.rows(resource_of(Activity), Action.READ)))
    logged = select(
        *(created.c[c.key].label(f"activity_{c.key}") for c in activity.c),
        activity_rule.label("activity_visible"),
        *target.c,
        *owner.c,
        # Referenced so that it is rendered; PostgreSQL runs a data-modifying WITH whether or not it is read.
        select(func.count()).select_from(audited).scalar_subquery().label("audited"),
    ).select_from(created.join(target, true()).outerjoin(owner, true()))
    if signing is None:
        return logged
    change = logged.subquery("logged")
    return select(*signing.columns, signing.gate.label("written"), *change.c).select_from(
        signing.sources.outerjoin(change, true())
    )


def _param(name: str, column: Any) -> Any:
    return bindparam(name, type_=column.type)


def _labelled(model: type, prefix: str) -> list[Any]:
    """Every column attribute of `model`, labelled `prefix` + its attribute name."""
    mapper: Mapper[Any] = sa_inspect(model)
    return [attr.columns[0].label(prefix + attr.key) for attr in mapper.column_attrs]


def _as_loaded(model: type[M], row: dict[str, Any], prefix: str) -> M:
    """A `model` instance holding the row's columns as if a query had loaded it (no pending changes), detached as
    every loader's result is once its read session closes.

    The values go straight into the new instance's state, as SQLAlchemy's own loading puts a row's columns: a new
    instance has no committed state or history for `set_committed_value` to clear, so there is nothing else to do.
    """
    mapper, keys, columns = _loading(model, prefix)
    instance: M = mapper.class_manager.new_instance()
    instance_state(instance).dict.update(zip(keys, columns(row), strict=True))
    return instance


def _loading(model: type, prefix: str) -> tuple[Mapper[Any], tuple[str, ...], Callable[[dict[str, Any]], Any]]:
    """The mapper of `model`, its column attributes' keys, and what reads their values (in that order) from a row
    whose columns are those keys after `prefix`: worked out once per model and prefix."""
    found = _LOADING.get((model, prefix))
    if found is None:
        mapper: Mapper[Any] = sa_inspect(model)
        keys = tuple(attr.key for attr in mapper.column_attrs)
        columns = itemgetter(*(prefix + key for key in keys))
        read = columns if len(keys) > 1 else lambda row: (columns(row),)
        found = _LOADING[model, prefix] = (mapper, keys, read)
    return found


_LOADING: dict[tuple[type, str], tuple[Mapper[Any], tuple[str, ...], Callable[[dict[str, Any]], Any]]] = {}


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
