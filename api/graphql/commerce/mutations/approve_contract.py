"""`approveContract`: the contract turns active, gets its payment plan and is queued for the ERP."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.commerce.mutations.payloads import ContractPayload, change_contract, parse_contract_id
from api.graphql.descriptions import described_arguments
from api.graphql.record_versions import EXPECTED_VERSION_DESCRIPTION
from domain.commerce import contracts


@described_arguments(id="The contract in approval.", expected_version=EXPECTED_VERSION_DESCRIPTION)
@strawberry.mutation(description="Approve: the contract turns active, gets its payment plan and is queued for the ERP.")
async def approve_contract(info: Info, id: strawberry.ID, expected_version: int | None = None) -> ContractPayload:
    return await change_contract(
        info,
        lambda uow: contracts.decide_contract(
            uow, parse_contract_id(id), approve=True, expected_version=expected_version
        ),
    )
