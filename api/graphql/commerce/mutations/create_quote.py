"""`createQuote`: draft a quote, priced for the buyer (a partner's price list, else list price)."""

from __future__ import annotations

import datetime

import strawberry
from strawberry.types import Info

from api.graphql.commerce.mutations.line_items import LineItemInput, line_inputs
from api.graphql.commerce.mutations.payloads import QuotePayload, quote_failed, quote_payload
from api.graphql.idempotency import idempotency_key_field
from api.graphql.mutation import mutate
from api.graphql.relay import id_of
from domain.access.unit_of_work import UnitOfWork
from domain.commerce import quotes
from domain.commerce.quotes import Quote


@strawberry.input(description="A new quote on an opportunity.")
class CreateQuoteInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    lines: list[LineItemInput] = strawberry.field(description="Lines, at least one.")
    valid_until: datetime.date | None = strawberry.field(default=None, description="Last day it may be accepted.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.mutation(description="Draft a quote, priced for the buyer (a partner's price list, else list price).")
async def create_quote(info: Info, input: CreateQuoteInput) -> QuotePayload:
    async def change(uow: UnitOfWork) -> Quote:
        opportunity = id_of(input.opportunity_id, "Opportunity", "opportunityId")
        return await quotes.create_quote(
            uow, opportunity, line_inputs(input.lines) or [], valid_until=input.valid_until
        )

    return await mutate(
        info,
        change,
        payload=quote_payload,
        failed=quote_failed,
        node="Quote",
        idempotency_key=input.idempotency_key,
        request=input,
    )
