"""`mergeLead`: merge a duplicate lead into another."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.channel.leads.mutations.payloads import LeadPayload, change_lead, parse_lead_id
from domain.channel import leads


@strawberry.input(description="Merge a duplicate lead into another.")
class MergeLeadInput:
    id: strawberry.ID = strawberry.field(description="The duplicate, which ends MERGED.")
    into_id: strawberry.ID = strawberry.field(description="The lead that survives.")


@strawberry.mutation(description="Merge a duplicate lead into another.")
async def merge_lead(info: Info, input: MergeLeadInput) -> LeadPayload:
    return await change_lead(
        info, lambda uow: leads.merge_lead(uow, parse_lead_id(input.id), parse_lead_id(input.into_id, "intoId"))
    )
