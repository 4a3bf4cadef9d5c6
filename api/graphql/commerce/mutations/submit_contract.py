"""`submitContract`: send a draft contract for approval."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.commerce.mutations.payloads import ContractPayload, change_contract, parse_contract_id
from api.graphql.descriptions import described_arguments
from api.graphql.record_versions import EXPECTED_VERSION_DESCRIPTION
from domain.commerce import contracts


@described_arguments(id="The draft contract.", expected_version=EXPECTED_VERSION_DESCRIPTION)
@strawberry.mutation(description="Send a draft contract for approval.")
async def submit_contract(info: Info, id: strawberry.ID, expected_version: int | None = None) -> ContractPayload:
    return await change_contract(
        info, lambda uow: contracts.submit_contract(uow, parse_contract_id(id), expected_version=expected_version)
    )
