"""`swapOpportunityTeamMember`: hand a team seat to someone else, with a reason (same role and access)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.relay import id_of
from api.graphql.selling.opportunities.mutations.payloads import OpportunityPayload, change_opportunity
from domain.access.unit_of_work import UnitOfWork
from domain.selling import opportunities as uc
from domain.selling.opportunities import Opportunity


@strawberry.input(description="Hand a team member's seat to someone else.")
class SwapTeamMemberInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    outgoing_user_id: strawberry.ID = strawberry.field(description="Who leaves the team.")
    incoming_user_id: strawberry.ID = strawberry.field(description="Who takes their sales role and access.")
    reason: str = strawberry.field(description="Why (required, kept in the audit trail).")


@strawberry.mutation(description="Hand a team seat to someone else, with a reason (same role and access).")
async def swap_opportunity_team_member(info: Info, input: SwapTeamMemberInput) -> OpportunityPayload:
    async def change(uow: UnitOfWork) -> Opportunity:
        return await uc.swap_team_member(
            uow,
            id_of(input.opportunity_id, "Opportunity", "opportunityId"),
            id_of(input.outgoing_user_id, "User", "outgoingUserId"),
            id_of(input.incoming_user_id, "User", "incomingUserId"),
            input.reason,
        )

    return await change_opportunity(info, change)
