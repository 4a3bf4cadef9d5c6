"""Mutations on activities."""

from __future__ import annotations

import datetime

import strawberry
from strawberry.types import Info

from api.activities.types import ActivityKindType, ActivityType
from api.graphql.errors import UserError, run_mutation
from api.graphql.relay import optional_id_of
from api.graphql.resolving import ctx
from domain.activities import NewActivity, log_activity
from domain.db import transaction


@strawberry.input(description="Something done or to do, on exactly one of an opportunity or an account.")
class LogActivityInput:
    kind: ActivityKindType = strawberry.field(description="Call, meeting, visit, e-mail or task.")  # type: ignore[valid-type]
    subject: str = strawberry.field(description="One-line summary (1–300 characters).")
    opportunity_id: strawberry.ID | None = strawberry.field(default=None, description="The opportunity.")
    account_id: strawberry.ID | None = strawberry.field(default=None, description="The account, when no opportunity.")
    notes: str | None = strawberry.field(default=None, description="Free-text notes.")
    occurred_at: datetime.datetime | None = strawberry.field(default=None, description="When; defaults to now.")
    due_at: datetime.datetime | None = strawberry.field(default=None, description="Due time; required for tasks.")
    done: bool | None = strawberry.field(default=None, description="Done already; tasks default to open.")


@strawberry.type(description="The result of an activity mutation.")
class ActivityPayload:
    activity: ActivityType | None = strawberry.field(description="The activity; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type
class ActivityMutations:
    @strawberry.mutation(description="Log an activity on an opportunity or account the caller can see.")
    async def log_activity(self, info: Info, input: LogActivityInput) -> ActivityPayload:
        async def perform() -> ActivityPayload:
            cmd = NewActivity(
                kind=input.kind, subject=input.subject, notes=input.notes, occurred_at=input.occurred_at,
                due_at=input.due_at, done=input.done,
                opportunity_id=optional_id_of(input.opportunity_id, "Opportunity", "opportunityId"),
                account_id=optional_id_of(input.account_id, "Account", "accountId"),
            )  # fmt: skip
            async with transaction(ctx(info).sessions) as session:
                row = await log_activity(session, ctx(info).access, cmd)
            return ActivityPayload(activity=ActivityType.from_row(row), errors=[])

        return await run_mutation(perform, lambda errors: ActivityPayload(activity=None, errors=errors))
