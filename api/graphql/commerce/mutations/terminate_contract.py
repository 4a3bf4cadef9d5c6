"""`terminateContract`: terminate a contract with a reason, from effectiveDate (default today): it ends then."""

from __future__ import annotations

import datetime

import strawberry
from strawberry.types import Info

from api.graphql.commerce.mutations.payloads import ContractPayload, change_contract, parse_contract_id
from api.graphql.descriptions import described_arguments
from api.graphql.record_versions import EXPECTED_VERSION_DESCRIPTION
from domain.commerce import contracts


@described_arguments(
    id="The active contract.",
    reason="Why it ends (kept in the audit trail).",
    effective_date="The day it ends; today when left out.",
    expected_version=EXPECTED_VERSION_DESCRIPTION,
)
@strawberry.mutation(
    description="Terminate a contract with a reason, from effectiveDate (default today): it ends then, later "
    "installments are dropped, and the ERP is told to stop billing at that date."
)
async def terminate_contract(
    info: Info,
    id: strawberry.ID,
    reason: str,
    effective_date: datetime.date | None = None,
    expected_version: int | None = None,
) -> ContractPayload:
    return await change_contract(
        info,
        lambda uow: contracts.terminate_contract(
            uow, parse_contract_id(id), reason, effective_date, expected_version=expected_version
        ),
    )
