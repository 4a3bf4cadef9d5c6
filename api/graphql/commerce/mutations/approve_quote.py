"""`approveQuote`: approve a quote's discount (managers of its territory, directors)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.commerce.mutations.payloads import QuotePayload, change_quote, parse_quote_id
from api.graphql.descriptions import described_arguments
from api.graphql.record_versions import EXPECTED_EDIT_VERSION_DESCRIPTION
from domain.commerce import quotes


@described_arguments(id="The quote pending approval.", expected_edit_version=EXPECTED_EDIT_VERSION_DESCRIPTION)
@strawberry.mutation(description="Approve a quote's discount (managers of its territory, directors).")
async def approve_quote(info: Info, id: strawberry.ID, expected_edit_version: int | None = None) -> QuotePayload:
    return await change_quote(
        info,
        lambda uow: quotes.decide_quote(uow, parse_quote_id(id), approve=True, expected_version=expected_edit_version),
    )
