"""`setOpportunityCompetitor`: record or update a competitor in the deal (internal roles only)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.relay import id_of
from api.graphql.selling.opportunities.mutations.payloads import OpportunityPayload, change_opportunity
from api.graphql.selling.opportunities.types import CompetitorStatusType
from domain.access.unit_of_work import UnitOfWork
from domain.selling import buying_centre
from domain.selling.opportunities import Opportunity


@strawberry.input(description="Record a competitor in the deal, or update it (internal roles only).")
class SetCompetitorInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    name: str = strawberry.field(description="The competitor's name (one entry per name).")
    status: CompetitorStatusType = strawberry.field(description="Its standing.")
    notes: str | None = strawberry.field(default=None, description="What we know of their offer.")


@strawberry.mutation(description="Record or update a competitor in the deal (internal roles only).")
async def set_opportunity_competitor(info: Info, input: SetCompetitorInput) -> OpportunityPayload:
    async def change(uow: UnitOfWork) -> Opportunity:
        return await buying_centre.set_competitor(
            uow,
            id_of(input.opportunity_id, "Opportunity", "opportunityId"),
            input.name,
            input.status,
            input.notes,
        )

    return await change_opportunity(info, change)
