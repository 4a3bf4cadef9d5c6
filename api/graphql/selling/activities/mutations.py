"""Mutations on activities."""

from __future__ import annotations

import datetime

import strawberry
from strawberry.types import Info

from api.graphql.descriptions import described_arguments
from api.graphql.errors import UserError, user_errors
from api.graphql.idempotency import idempotency_key_field
from api.graphql.mutation import mutate
from api.graphql.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, id_of, optional_id_of
from api.graphql.resolving import ctx, list_connection
from api.graphql.selling.activities.types import ActivityKindType, ActivityType
from domain.access.unit_of_work import UnitOfWork
from domain.selling.activities import (
    Activity,
    NewActivity,
    NotOneStatement,
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
    target = logged.target
    loaders["Opportunity" if isinstance(target, Opportunity) else "Account"].prime(target.id, target, force=True)
    if logged.owner is not None:
        loaders["User"].prime(logged.owner.id, logged.owner, force=True)
    if logged.activity is None:
        return _succeeded(None)
    loaders["Activity"].prime(logged.activity.id, logged.activity, force=True)
    return _succeeded(logged.activity)


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
            cmd = NewActivity(
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
