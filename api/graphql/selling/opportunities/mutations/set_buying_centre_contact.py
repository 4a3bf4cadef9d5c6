"""`setBuyingCentreContact`: put a contact in the opportunity's buying centre, or change their role."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.relay import id_of
from api.graphql.selling.accounts.types import BuyingRoleType
from api.graphql.selling.opportunities.mutations.payloads import OpportunityPayload, change_opportunity
from api.graphql.selling.opportunities.types import AttitudeType
from domain.access.unit_of_work import UnitOfWork
from domain.selling import buying_centre
from domain.selling.opportunities import Opportunity


@strawberry.input(description="Put a contact in the buying centre, or change their role and attitude.")
class SetBuyingCentreContactInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    contact_id: strawberry.ID = strawberry.field(description="A contact of the opportunity's account.")
    role: BuyingRoleType = strawberry.field(description="Their part in the decision.")
    attitude: AttitudeType = strawberry.field(description="How they lean.")


@strawberry.mutation(description="Put a contact in the opportunity's buying centre, or change their role.")
async def set_buying_centre_contact(info: Info, input: SetBuyingCentreContactInput) -> OpportunityPayload:
    async def change(uow: UnitOfWork) -> Opportunity:
        return await buying_centre.set_contact_role(
            uow,
            id_of(input.opportunity_id, "Opportunity", "opportunityId"),
            id_of(input.contact_id, "Contact", "contactId"),
            input.role,
            input.attitude,
        )

    return await change_opportunity(info, change)
