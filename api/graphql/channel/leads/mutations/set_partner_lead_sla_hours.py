"""`setPartnerLeadSlaHours`: set how many hours a partner has to accept or decline an offered lead (admins)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.descriptions import described_arguments
from api.graphql.errors import UserError
from api.graphql.mutation import mutate
from domain.channel import lead_routing


@strawberry.type(description="The result of changing the partner SLA.")
class PartnerSlaPayload:
    hours: int | None = strawberry.field(description="Hours a partner has to answer an offered lead.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@described_arguments(hours="Hours from the offer until it expires and the lead goes to the next match.")
@strawberry.mutation(description="Set how many hours a partner has to accept or decline an offered lead (admins).")
async def set_partner_lead_sla_hours(info: Info, hours: int) -> PartnerSlaPayload:
    return await mutate(
        info,
        lambda uow: lead_routing.set_partner_sla_hours(uow, hours),
        payload=lambda value: PartnerSlaPayload(hours=value, errors=[]),
        failed=lambda errors: PartnerSlaPayload(hours=None, errors=errors),
    )
