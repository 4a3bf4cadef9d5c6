"""`declineLead`: decline a lead offered to your organization; it goes to the next match."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.channel.leads.mutations.payloads import LeadPayload, change_lead, parse_lead_id
from domain.channel import lead_routing


@strawberry.input(description="Turn down an offered lead.")
class DeclineLeadInput:
    id: strawberry.ID = strawberry.field(description="The lead.")
    reason: str = strawberry.field(description="Why.")


@strawberry.mutation(description="Decline a lead offered to your organization; it goes to the next match.")
async def decline_lead(info: Info, input: DeclineLeadInput) -> LeadPayload:
    return await change_lead(info, lambda uow: lead_routing.decline(uow, parse_lead_id(input.id), input.reason))
