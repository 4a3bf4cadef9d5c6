"""`cancelOrder`: cancel an order the ERP has not received yet, with a reason."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.commerce.mutations.payloads import OrderPayload, change_order
from api.graphql.descriptions import described_arguments
from api.graphql.relay import id_of
from domain.commerce import orders


@described_arguments(
    id="The order, not yet received by the ERP.",
    reason="Why it is cancelled (kept in the audit trail).",
)
@strawberry.mutation(
    description="Cancel an order the ERP has not received yet, with a reason; once the ERP has it, cancel it "
    "there and the CRM follows."
)
async def cancel_order(info: Info, id: strawberry.ID, reason: str) -> OrderPayload:
    return await change_order(info, lambda uow: orders.cancel_order(uow, id_of(id, "Order", "id"), reason))
