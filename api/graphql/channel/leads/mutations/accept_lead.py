"""`acceptLead`: accept a lead offered to your organization."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.channel.leads.mutations.payloads import LeadPayload, change_lead, parse_lead_id
from api.graphql.descriptions import described_arguments
from domain.channel import lead_routing


@described_arguments(id="The lead offered to your organization.")
@strawberry.mutation(description="Accept a lead offered to your organization.")
async def accept_lead(info: Info, id: strawberry.ID) -> LeadPayload:
    return await change_lead(info, lambda uow: lead_routing.accept(uow, parse_lead_id(id)))
