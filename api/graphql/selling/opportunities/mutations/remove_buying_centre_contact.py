"""`removeBuyingCentreContact`: take a contact out of the opportunity's buying centre."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.relay import id_of
from api.graphql.selling.opportunities.mutations.payloads import OpportunityPayload, change_opportunity
from domain.access.unit_of_work import UnitOfWork
from domain.selling import buying_centre
from domain.selling.opportunities import Opportunity


@strawberry.input(description="Take a contact out of the buying centre.")
class RemoveBuyingCentreContactInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    contact_id: strawberry.ID = strawberry.field(description="The contact.")


@strawberry.mutation(description="Take a contact out of the opportunity's buying centre.")
async def remove_buying_centre_contact(info: Info, input: RemoveBuyingCentreContactInput) -> OpportunityPayload:
    async def change(uow: UnitOfWork) -> Opportunity:
        return await buying_centre.remove_contact(
            uow,
            id_of(input.opportunity_id, "Opportunity", "opportunityId"),
            id_of(input.contact_id, "Contact", "contactId"),
        )

    return await change_opportunity(info, change)
