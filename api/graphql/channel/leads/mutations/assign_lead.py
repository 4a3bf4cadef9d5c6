"""`assignLead`: assign a lead to an internal user by hand (managers)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.channel.leads.mutations.payloads import LeadPayload, change_lead, parse_lead_id
from api.graphql.relay import id_of
from domain.access.unit_of_work import UnitOfWork
from domain.channel import lead_routing
from domain.channel.leads import Lead


@strawberry.input(description="Assign a lead to an internal user by hand.")
class AssignLeadInput:
    id: strawberry.ID = strawberry.field(description="The lead.")
    user_id: strawberry.ID = strawberry.field(description="The user.")
    reason: str = strawberry.field(description="Why (kept with the routing decisions).")


@strawberry.mutation(description="Assign a lead to an internal user by hand (managers).")
async def assign_lead(info: Info, input: AssignLeadInput) -> LeadPayload:
    async def change(uow: UnitOfWork) -> Lead:
        user_id = id_of(input.user_id, "User", "userId")
        return await lead_routing.assign_by_hand(uow, parse_lead_id(input.id), user_id, input.reason)

    return await change_lead(info, change)
