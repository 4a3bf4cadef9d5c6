"""`removeOpportunityTeamMember`: take a user off an opportunity's team."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.relay import id_of
from api.graphql.selling.opportunities.mutations.payloads import OpportunityPayload, change_opportunity
from domain.access.unit_of_work import UnitOfWork
from domain.selling import opportunities as uc
from domain.selling.opportunities import Opportunity


@strawberry.input(description="Take a user off an opportunity's team.")
class RemoveTeamMemberInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    user_id: strawberry.ID = strawberry.field(description="The user to remove.")
    reason: str | None = strawberry.field(default=None, description="Why (kept in the audit trail).")


@strawberry.mutation(description="Take a user off an opportunity's team.")
async def remove_opportunity_team_member(info: Info, input: RemoveTeamMemberInput) -> OpportunityPayload:
    async def change(uow: UnitOfWork) -> Opportunity:
        return await uc.remove_team_member(
            uow,
            id_of(input.opportunity_id, "Opportunity", "opportunityId"),
            id_of(input.user_id, "User", "userId"),
            input.reason,
        )

    return await change_opportunity(info, change)
