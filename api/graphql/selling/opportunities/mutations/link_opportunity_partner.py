"""`linkOpportunityPartner`: link a partner organization to an opportunity."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.relay import id_of
from api.graphql.selling.opportunities.mutations.payloads import OpportunityPayload, change_opportunity
from api.graphql.selling.opportunities.types import PartnerRoleType
from domain.access.unit_of_work import UnitOfWork
from domain.selling import opportunities as uc
from domain.selling.opportunities import Opportunity


@strawberry.input(description="Link a partner organization to an opportunity.")
class LinkPartnerInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    organization_id: strawberry.ID = strawberry.field(description="The partner organization.")
    role: PartnerRoleType = strawberry.field(description="Sourcing, fulfilling or influencing.")


@strawberry.mutation(description="Link a partner organization to an opportunity.")
async def link_opportunity_partner(info: Info, input: LinkPartnerInput) -> OpportunityPayload:
    async def change(uow: UnitOfWork) -> Opportunity:
        return await uc.link_partner(
            uow,
            id_of(input.opportunity_id, "Opportunity", "opportunityId"),
            id_of(input.organization_id, "Organization", "organizationId"),
            input.role,
        )

    return await change_opportunity(info, change)
