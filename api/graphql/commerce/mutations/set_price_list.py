"""`setPriceList`: create or change the price list of a partner kind and/or tier."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.graphql.channel.partner_kinds import PartnerKindType, PartnerTierType, organization_kind, partner_tier
from api.graphql.commerce.mutations.payloads import PriceListPayload, price_list_failed, price_list_payload
from api.graphql.mutation import mutate
from domain.commerce import catalog


@strawberry.input(description="The price list of a partner kind and/or tier.")
class SetPriceListInput:
    name: str = strawberry.field(description="Name.")
    partner_kind: PartnerKindType | None = strawberry.field(default=None, description="Kind it applies to.")
    partner_tier: PartnerTierType | None = strawberry.field(default=None, description="Tier it applies to.")
    discount_percent: Decimal = strawberry.field(description="Percent off list price, 0 to below 100.")


@strawberry.mutation(description="Create or change the price list of a partner kind and/or tier.")
async def set_price_list(info: Info, input: SetPriceListInput) -> PriceListPayload:
    return await mutate(
        info,
        lambda uow: catalog.set_price_list(
            uow,
            name=input.name,
            partner_kind=organization_kind(input.partner_kind),
            partner_tier=partner_tier(input.partner_tier),
            discount_percent=input.discount_percent,
        ),
        payload=price_list_payload,
        failed=price_list_failed,
    )
