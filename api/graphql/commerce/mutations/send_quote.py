"""`sendQuote`: mark an approved quote as sent to the customer."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.commerce.mutations.payloads import QuotePayload, change_quote, parse_quote_id
from api.graphql.descriptions import described_arguments
from api.graphql.record_versions import EXPECTED_EDIT_VERSION_DESCRIPTION
from domain.commerce import quotes


@described_arguments(id="The approved quote.", expected_edit_version=EXPECTED_EDIT_VERSION_DESCRIPTION)
@strawberry.mutation(description="Mark an approved quote as sent to the customer.")
async def send_quote(info: Info, id: strawberry.ID, expected_edit_version: int | None = None) -> QuotePayload:
    return await change_quote(
        info, lambda uow: quotes.send_quote(uow, parse_quote_id(id), expected_version=expected_edit_version)
    )
