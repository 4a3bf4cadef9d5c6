"""`decideStageApproval`: approve or reject a stage approval (managers of the opportunity)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.mutation import mutate
from api.graphql.relay import id_of
from api.graphql.selling.opportunities.mutations.payloads import StageApprovalPayload, approval_failed, approval_payload
from domain.access.unit_of_work import UnitOfWork
from domain.selling import stage_gates
from domain.selling.stage_gates import StageApproval


@strawberry.input(description="Decide a stage approval.")
class DecideStageApprovalInput:
    id: strawberry.ID = strawberry.field(description="The approval.")
    approve: bool = strawberry.field(description="true approves, false rejects.")
    reason: str | None = strawberry.field(default=None, description="Why; required to reject.")


@strawberry.mutation(description="Approve or reject a stage approval (managers of the opportunity).")
async def decide_stage_approval(info: Info, input: DecideStageApprovalInput) -> StageApprovalPayload:
    async def change(uow: UnitOfWork) -> StageApproval:
        return await stage_gates.decide_approval(
            uow, id_of(input.id, "StageApproval", "id"), input.approve, input.reason
        )

    return await mutate(info, change, payload=approval_payload, failed=approval_failed, node="StageApproval")
