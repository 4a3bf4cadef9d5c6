"""Mutations on activities."""

from __future__ import annotations

import datetime

import strawberry
from strawberry.types import Info

from api.graphql.descriptions import described_arguments
from api.graphql.errors import UserError
from api.graphql.idempotency import idempotency_key_field
from api.graphql.mutation import mutate
from api.graphql.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, id_of, optional_id_of
from api.graphql.resolving import list_connection
from api.graphql.selling.activities.types import ActivityKindType, ActivityType
from domain.access.unit_of_work import UnitOfWork
from domain.selling.activities import Activity, NewActivity, complete_task, log_activity, open_tasks_query
from domain.shared.pagination import SortDirection


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
        async def create(uow: UnitOfWork) -> Activity:
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
