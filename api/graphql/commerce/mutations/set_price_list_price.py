"""`setPriceListPrice`: fix one product's unit price on a price list; a null price removes it (the discount applies)."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.graphql.commerce.mutations.payloads import PriceListPayload, price_list_failed, price_list_payload
from api.graphql.descriptions import described_arguments
from api.graphql.mutation import mutate
from api.graphql.relay import id_of
from domain.access.unit_of_work import UnitOfWork
from domain.commerce import catalog
from domain.shared.errors import ErrorCode, FieldError, ValidationFailed


@described_arguments(
    price_list_id="The price list.",
    product_id="The product.",
    unit_price="The fixed unit price, in the product's currency; null removes it (the discount applies).",
)
@strawberry.mutation(
    description="Fix one product's unit price on a price list; a null price removes it (the discount applies)."
)
async def set_price_list_price(
    info: Info,
    price_list_id: strawberry.ID,
    product_id: strawberry.ID,
    unit_price: Decimal | None = strawberry.UNSET,
) -> PriceListPayload:
    async def change(uow: UnitOfWork) -> catalog.PriceList:
        if unit_price is strawberry.UNSET:  # leaving it out must not silently remove a fixed price
            message = "unitPrice is required: a price, or null to remove the fixed price."
            raise ValidationFailed([FieldError("unitPrice", ErrorCode.REQUIRED, message)])
        return await catalog.set_fixed_price(
            uow,
            id_of(price_list_id, "PriceList", "priceListId"),
            id_of(product_id, "Product", "productId"),
            unit_price,
        )

    return await mutate(info, change, payload=price_list_payload, failed=price_list_failed)
