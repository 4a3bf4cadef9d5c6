"""`unlinkOpportunityPartner`: remove a partner organization's link to an opportunity."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.relay import id_of
from api.graphql.selling.opportunities.mutations.payloads import OpportunityPayload, change_opportunity
from domain.access.unit_of_work import UnitOfWork
from domain.selling import opportunities as uc
from domain.selling.opportunities import Opportunity


@strawberry.input(description="Remove a partner organization's link to an opportunity.")
class UnlinkPartnerInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    organization_id: strawberry.ID = strawberry.field(description="The partner organization.")


@strawberry.mutation(description="Remove a partner organization's link to an opportunity.")
async def unlink_opportunity_partner(info: Info, input: UnlinkPartnerInput) -> OpportunityPayload:
    async def change(uow: UnitOfWork) -> Opportunity:
        return await uc.unlink_partner(
            uow,
            id_of(input.opportunity_id, "Opportunity", "opportunityId"),
            id_of(input.organization_id, "Organization", "organizationId"),
        )

    return await change_opportunity(info, change)
