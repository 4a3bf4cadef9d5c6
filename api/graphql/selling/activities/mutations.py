"""Mutations on activities."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Hashable, Sequence
from typing import Any

import strawberry
from strawberry.types import Info

from api.graphql.compiled.kept_mutations import KeptRun, SignedKeptRun, SignedOutcome, kept_mutation
from api.graphql.descriptions import described_arguments
from api.graphql.errors import UserError, user_errors
from api.graphql.idempotency import idempotency_key_field
from api.graphql.mutation import mutate
from api.graphql.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, id_of, optional_id_of
from api.graphql.resolving import ctx, list_connection
from api.graphql.selling.activities.types import ActivityKindType, ActivityType
from domain.access.actor import Access
from domain.access.unit_of_work import UnitOfWork
from domain.access.usage_budgets import Budget
from domain.selling.activities import (
    Activity,
    LoggedActivity,
    NewActivity,
    NotOneStatement,
    OneStatementLog,
    complete_task,
    log_activity,
    log_activity_in_one_statement,
    loggable_in_one_statement,
    open_tasks_query,
)
from domain.selling.opportunities import Opportunity
from domain.shared.errors import DomainError
from domain.shared.pagination import SortDirection
from services.compiled_reads.run import access_key
from services.unit_of_work import in_one_statement


@strawberry.input(description="Something done or to do, on exactly one of an opportunity or an account.")
class LogActivityInput:
    kind: ActivityKindType = strawberry.field(description="Call, meeting, visit, e-mail or task.")
    subject: str = strawberry.field(description="One-line summary (1–300 characters).")
    opportunity_id: strawberry.ID | None = strawberry.field(default=None, description="The opportunity.")
    account_id: strawberry.ID | None = strawberry.field(default=None, description="The account, when no opportunity.")
    notes: str | None = strawberry.field(default=None, description="Free-text notes.")
    occurred_at: datetime.datetime | None = strawberry.field(default=None, description="When; defaults to now.")
    due_at: datetime.datetime | None = strawberry.field(default=None, description="Due time; required for tasks.")
    done: bool | None = strawberry.field(default=None, description="Done already; tasks default to open.")
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="Who must do a task; you if left out."
    )
    idempotency_key: str | None = idempotency_key_field()


@strawberry.type(description="The result of an activity mutation.")
class ActivityPayload:
    activity: ActivityType | None = strawberry.field(description="The activity; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def _failed(errors: list[UserError]) -> ActivityPayload:
    return ActivityPayload(activity=None, errors=errors)


def _succeeded(row: Activity | None) -> ActivityPayload:
    return ActivityPayload(activity=ActivityType.from_row(row) if row else None, errors=[])


def _new_activity(input: LogActivityInput) -> NewActivity:
    """The command of a `logActivity` input; a malformed id is a DomainError naming its field."""
    return NewActivity(
        kind=input.kind,
        subject=input.subject,
        notes=input.notes,
        occurred_at=input.occurred_at,
        due_at=input.due_at,
        done=input.done,
        opportunity_id=optional_id_of(input.opportunity_id, "Opportunity", "opportunityId"),
        account_id=optional_id_of(input.account_id, "Account", "accountId"),
        assignee_id=optional_id_of(input.assignee_id, "User", "assigneeId"),
    )


def _records_of(logged: LoggedActivity, access: Access) -> dict[tuple[str, Any], Any]:
    """The records the statement read back, by (GraphQL type, id), as the payload's loaders would give them: the
    activity and its deal or account, and its owner, the caller (None: the caller's rule for users hides them)."""
    target = logged.target
    records: dict[tuple[str, Any], Any] = {
        ("Opportunity" if isinstance(target, Opportunity) else "Account", target.id): target,
        ("User", access.actor.user_id): logged.owner,
    }
    if logged.activity is not None:
        records["Activity", logged.activity.id] = logged.activity
    return records


async def _logged_in_one_statement(info: Info, cmd: NewActivity) -> ActivityPayload:
    """Log the activity in one statement and answer with it as the caller may see it, as `mutate` would.

    A retry-safe create (an idempotency key) and a task for a named assignee go through `mutate` instead. The
    statement reads back what `mutate`'s re-read and the payload's loaders would (the activity through the
    caller's rule for activities, its deal or account, its owner, each through its own rule), so the loaders are
    primed with those records and the payload's resolvers send nothing more for them.
    """
    context = ctx(info)
    try:
        async with in_one_statement(context.sessions, context.access) as uow:
            logged = await log_activity_in_one_statement(uow, cmd, rules_key=access_key(context.access))
    except DomainError as exc:
        return _failed(user_errors(exc.errors))
    loaders = context.loaders.by_type
    for (type_name, record_id), record in _records_of(logged, context.access).items():
        if record is not None:
            loaders[type_name].prime(record_id, record, force=True)
    return _succeeded(logged.activity)


@kept_mutation("logActivity")
def _log_activity_kept(arguments: dict[str, Any], access: Access, rules_key: Hashable) -> KeptRun | None:
    """`logActivity` answered ahead of strawberry's pipeline (api/graphql/compiled/kept_mutations.py) when the
    resolver below would log it in one statement: the same command, checks, statement and payload. None, before
    anything is sent, for what the resolver logs through `mutate` (an idempotency key, a task for someone
    named, row rules that cannot be prepared)."""
    input: LogActivityInput = arguments["input"]
    if input.idempotency_key is not None:
        return None
    try:
        log = OneStatementLog(access, _new_activity(input), rules_key=rules_key)
    except NotOneStatement:
        return None
    except DomainError as exc:
        failed = _failed(user_errors(exc.errors))

        async def refused(driver: Any) -> tuple[ActivityPayload, dict[tuple[str, Any], Any]]:
            return failed, {}

        return refused

    async def logged(driver: Any) -> tuple[ActivityPayload, dict[tuple[str, Any], Any]]:
        try:
            done = await log.run(driver)
        except DomainError as exc:
            return _failed(user_errors(exc.errors)), {}
        return _succeeded(done.activity), _records_of(done, access)

    async def signed(
        driver: Any, session_id: uuid.UUID | None, budgets: Sequence[Budget], cost: int, policy_version: int
    ) -> SignedOutcome | None:
        found = await log.run_signed(driver, session_id, budgets, cost, policy_version)
        if found is None:
            return None
        answer: tuple[ActivityPayload, dict[tuple[str, Any], Any]] | None = None
        if found.error is not None:
            answer = _failed(user_errors(found.error.errors)), {}
        elif found.logged is not None:
            answer = _succeeded(found.logged.activity), _records_of(found.logged, access)
        return SignedOutcome(found.loaded, found.charge, answer)

    return SignedKeptRun(logged, signed)


@strawberry.type
class ActivityQueries:
    @described_arguments(overdue_only="Only tasks already past their due time.")
    @strawberry.field(description="Open tasks assigned to you that you can see, soonest due first.")
    async def my_open_tasks(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        overdue_only: bool = False,
    ) -> Connection[ActivityType]:
        return await list_connection(
            info,
            query=lambda uow: open_tasks_query(uow, overdue_only=overdue_only),
            sort_column=Activity.due_at,
            id_column=Activity.id,
            direction=SortDirection.ASC,
            first=first,
            after=after,
            last=last,
            before=before,
            to_node=ActivityType.from_row,
        )


@strawberry.type
class ActivityMutations:
    @described_arguments(id="The task, an Activity of kind TASK.")
    @strawberry.mutation(description="Mark a task done.")
    async def complete_task(self, info: Info, id: strawberry.ID) -> ActivityPayload:
        async def change(uow: UnitOfWork) -> Activity:
            return await complete_task(uow, id_of(id, "Activity", "id"))

        return await mutate(info, change, payload=_succeeded, failed=_failed, node="Activity")

    @strawberry.mutation(description="Log an activity on an opportunity or account the caller can see.")
    async def log_activity(self, info: Info, input: LogActivityInput) -> ActivityPayload:
        try:
            cmd = _new_activity(input)
        except DomainError as exc:
            return _failed(user_errors(exc.errors))
        if input.idempotency_key is None and loggable_in_one_statement(cmd):
            try:
                return await _logged_in_one_statement(info, cmd)
            except NotOneStatement:
                pass  # the ORM path below logs it, with the same rules

        async def create(uow: UnitOfWork) -> Activity:
            return await log_activity(uow, cmd)

        return await mutate(
            info,
            create,
            payload=_succeeded,
            failed=_failed,
            node="Activity",
            idempotency_key=input.idempotency_key,
            request=input,
        )
