"""`retryOutboxMessage`: queue a dead outbox message again with a fresh set of attempts."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.commerce.types import OutboxMessageType
from api.graphql.descriptions import described_arguments
from api.graphql.errors import UserError
from api.graphql.mutation import mutate
from api.graphql.relay import id_of
from services import erp as erp_services


@strawberry.type(description="The result of retrying an outbox message.")
class OutboxMessagePayload:
    message: OutboxMessageType | None = strawberry.field(description="The message, queued again; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@described_arguments(id="The dead outbox message.")
@strawberry.mutation(description="Queue a dead outbox message again with a fresh set of attempts.")
async def retry_outbox_message(info: Info, id: strawberry.ID) -> OutboxMessagePayload:
    return await mutate(
        info,
        lambda uow: erp_services.retry_message(uow, id_of(id, "OutboxMessage", "id")),
        payload=lambda row: OutboxMessagePayload(message=OutboxMessageType.from_row(row) if row else None, errors=[]),
        failed=lambda errors: OutboxMessagePayload(message=None, errors=errors),
        node="OutboxMessage",
    )
