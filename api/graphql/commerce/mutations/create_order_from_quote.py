"""`createOrderFromQuote`: turn the accepted quote of a won opportunity into an order (queued for the ERP)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.commerce.mutations.payloads import OrderPayload, order_failed, order_payload
from api.graphql.descriptions import described_arguments
from api.graphql.idempotency import KEY_DESCRIPTION
from api.graphql.mutation import mutate
from api.graphql.relay import id_of
from domain.commerce import orders


@described_arguments(quote_id="The accepted quote of a won opportunity.", idempotency_key=KEY_DESCRIPTION)
@strawberry.mutation(description="Turn the accepted quote of a won opportunity into an order (queued for the ERP).")
async def create_order_from_quote(
    info: Info, quote_id: strawberry.ID, idempotency_key: str | None = None
) -> OrderPayload:
    return await mutate(
        info,
        lambda uow: orders.order_from_quote(uow, id_of(quote_id, "Quote", "quoteId")),
        payload=order_payload,
        failed=order_failed,
        node="Order",
        idempotency_key=idempotency_key,
        request={"quoteId": quote_id},
    )
