"""GraphQL types for activities."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeAlias

import strawberry
from strawberry.types import Info

from api.graphql.channel.directory.types import UserType
from api.graphql.descriptions import describe_values
from api.graphql.relay import Node, to_global_id
from api.graphql.resolving import load
from api.graphql.selling.accounts.types import AccountType
from domain.selling.activities import Activity, ActivityKind
from domain.shared.base import utcnow

if TYPE_CHECKING:
    from api.graphql.selling.opportunities.types import OpportunityType

ActivityKindType: TypeAlias = ActivityKind
strawberry.enum(ActivityKindType, name="ActivityKind", description="What kind of activity.")
describe_values(
    ActivityKindType,
    {
        "CALL": "A phone call.",
        "MEETING": "A meeting, in person or online.",
        "VISIT": "A visit to the customer.",
        "TASK": "A to-do with a due time and an assignee.",
        "EMAIL": "An e-mail.",
    },
)


@strawberry.type(name="Activity", description="A call, meeting, visit, e-mail or task on an account or opportunity.")
class ActivityType(Node):
    row: strawberry.Private[Activity]

    @classmethod
    def from_row(cls, row: Activity) -> ActivityType:
        return cls(id=to_global_id("Activity", row.id), row=row)

    @strawberry.field(description="Call, meeting, visit, e-mail or task.")
    def kind(self) -> ActivityKindType:
        return self.row.kind

    @strawberry.field(description="One-line summary.")
    def subject(self) -> str:
        return self.row.subject

    @strawberry.field(description="Free-text notes.")
    def notes(self) -> str | None:
        return self.row.notes

    @strawberry.field(description="When it happened (UTC).")
    def occurred_at(self) -> datetime:
        return self.row.occurred_at

    @strawberry.field(description="When a task is due (UTC).")
    def due_at(self) -> datetime | None:
        return self.row.due_at

    @strawberry.field(description="Whether it is done; tasks start open.")
    def done(self) -> bool:
        return self.row.done

    @strawberry.field(description="Who logged it, when the viewer may see them.")
    async def owner(self, info: Info) -> UserType | None:
        row = await load(info, "User", self.row.owner_id)
        return UserType.from_row(row) if row else None

    @strawberry.field(description="Who must do a task, when the viewer may see them.")
    async def assignee(self, info: Info) -> UserType | None:
        row = await load(info, "User", self.row.assignee_id)
        return UserType.from_row(row) if row else None

    @strawberry.field(description="Whether a task is open past its due time.")
    def is_overdue(self) -> bool:
        return bool(self.row.due_at and not self.row.done and self.row.due_at < utcnow())

    @strawberry.field(description="The account it concerns, when the viewer may see it.")
    async def account(self, info: Info) -> AccountType | None:
        row = await load(info, "Account", self.row.account_id)
        return AccountType.from_row(row) if row else None

    @strawberry.field(description="The opportunity it concerns, if any the viewer may see.")
    async def opportunity(
        self, info: Info
    ) -> Annotated[OpportunityType, strawberry.lazy("api.graphql.selling.opportunities.types")] | None:
        from api.graphql.selling.opportunities.types import OpportunityType  # its module imports this one

        row = await load(info, "Opportunity", self.row.opportunity_id)
        return OpportunityType.from_row(row) if row else None
