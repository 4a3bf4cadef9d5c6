"""`requestStageApproval`: ask a manager to let the opportunity into a gated stage."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.descriptions import described_arguments
from api.graphql.mutation import mutate
from api.graphql.relay import id_of
from api.graphql.selling.opportunities.mutations.payloads import StageApprovalPayload, approval_failed, approval_payload
from api.graphql.selling.opportunities.types import StageType
from domain.access.unit_of_work import UnitOfWork
from domain.selling import stage_gates
from domain.selling.stage_gates import StageApproval


@described_arguments(opportunity_id="The opportunity to move.", stage="The gated stage it should enter.")
@strawberry.mutation(description="Ask a manager to let the opportunity into a gated stage.")
async def request_stage_approval(
    info: Info,
    opportunity_id: strawberry.ID,
    stage: StageType,
) -> StageApprovalPayload:
    async def change(uow: UnitOfWork) -> StageApproval:
        return await stage_gates.request_approval(uow, id_of(opportunity_id, "Opportunity", "opportunityId"), stage)

    return await mutate(info, change, payload=approval_payload, failed=approval_failed, node="StageApproval")
