"""`addOpportunityTeamMember`: put a user on an opportunity's team."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.relay import id_of
from api.graphql.selling.opportunities.mutations.payloads import OpportunityPayload, change_opportunity
from api.graphql.selling.opportunities.types import SalesRoleType, TeamAccessType
from domain.access.unit_of_work import UnitOfWork
from domain.selling import opportunities as uc
from domain.selling.opportunities import Opportunity


@strawberry.input(description="Put a user on an opportunity's team.")
class AddTeamMemberInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    user_id: strawberry.ID = strawberry.field(description="The user to add.")
    sales_role: SalesRoleType = strawberry.field(description="Their part in the sale.")
    access: TeamAccessType = strawberry.field(description="READ or EDIT.")


@strawberry.mutation(description="Put a user on an opportunity's team.")
async def add_opportunity_team_member(info: Info, input: AddTeamMemberInput) -> OpportunityPayload:
    async def change(uow: UnitOfWork) -> Opportunity:
        return await uc.add_team_member(
            uow,
            id_of(input.opportunity_id, "Opportunity", "opportunityId"),
            id_of(input.user_id, "User", "userId"),
            input.sales_role,
            input.access,
        )

    return await change_opportunity(info, change)
