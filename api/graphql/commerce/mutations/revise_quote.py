"""`reviseQuote`: make a new draft version; the old one is superseded."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.commerce.mutations.line_items import LineItemInput, line_inputs
from api.graphql.commerce.mutations.payloads import QuotePayload, change_quote, parse_quote_id
from api.graphql.record_versions import EXPECTED_EDIT_VERSION_DESCRIPTION
from domain.commerce import quotes


@strawberry.input(description="A new version of a quote.")
class ReviseQuoteInput:
    id: strawberry.ID = strawberry.field(description="The quote's newest version.")
    lines: list[LineItemInput] | None = strawberry.field(default=None, description="New lines (null: keep).")
    expected_edit_version: int | None = strawberry.field(default=None, description=EXPECTED_EDIT_VERSION_DESCRIPTION)


@strawberry.mutation(description="Make a new draft version; the old one is superseded.")
async def revise_quote(info: Info, input: ReviseQuoteInput) -> QuotePayload:
    return await change_quote(
        info,
        lambda uow: quotes.revise_quote(
            uow, parse_quote_id(input.id), line_inputs(input.lines), expected_version=input.expected_edit_version
        ),
    )
