"""`placePartnerOrder`: a partner orders for a customer or its stock, at its price list's prices."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.commerce.mutations.line_items import LineItemInput, line_inputs
from api.graphql.commerce.mutations.payloads import OrderPayload, order_failed, order_payload
from api.graphql.idempotency import idempotency_key_field
from api.graphql.mutation import mutate
from api.graphql.relay import optional_id_of
from api.graphql.resolving import ctx
from domain.access.unit_of_work import UnitOfWork
from domain.commerce import orders
from domain.commerce.orders import Order
from services import commerce as commerce_services


@strawberry.input(description="A partner's order at its price list's prices.")
class PlacePartnerOrderInput:
    account_id: strawberry.ID | None = strawberry.field(
        default=None, description="The end customer; null orders for the partner's own stock."
    )
    lines: list[LineItemInput] = strawberry.field(description="Lines, at least one; no discounts.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.mutation(
    description="A partner orders for a customer or its stock, at its price list's prices, within its credit "
    "limit (asked of the ERP now; the last known standing when the ERP does not answer)."
)
async def place_partner_order(info: Info, input: PlacePartnerOrderInput) -> OrderPayload:
    await commerce_services.refresh_ordering_credit(ctx(info).sessions, ctx(info).access)

    async def change(uow: UnitOfWork) -> Order:
        account = optional_id_of(input.account_id, "Account", "accountId")
        return await orders.place_partner_order(uow, line_inputs(input.lines) or [], account_id=account)

    return await mutate(
        info,
        change,
        payload=order_payload,
        failed=order_failed,
        node="Order",
        idempotency_key=input.idempotency_key,
        request=input,
    )
