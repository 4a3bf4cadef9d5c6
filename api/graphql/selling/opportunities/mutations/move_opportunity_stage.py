"""`moveOpportunityStage`: move an opportunity to another stage; probability and forecast follow the stage."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.record_versions import expected_version_field
from api.graphql.relay import id_of
from api.graphql.selling.opportunities.mutations.payloads import OpportunityPayload, change_opportunity
from api.graphql.selling.opportunities.types import CloseReasonType, StageType
from domain.access.unit_of_work import UnitOfWork
from domain.selling import stage_gates
from domain.selling.opportunities import Opportunity


@strawberry.input(description="Move an opportunity to another stage, through the stage's gate.")
class MoveOpportunityStageInput:
    id: strawberry.ID = strawberry.field(description="The opportunity.")
    stage: StageType = strawberry.field(description="The new stage.")
    reason: str | None = strawberry.field(default=None, description="Why; required to move back or reopen.")
    reason_code: CloseReasonType | None = strawberry.field(
        default=None, description="Why it was won or lost; required to close."
    )
    competitor: str | None = strawberry.field(default=None, description="Who won it, when lost and known.")
    expected_version: int | None = expected_version_field()


@strawberry.mutation(description="Move an opportunity to another stage; probability and forecast follow the stage.")
async def move_opportunity_stage(info: Info, input: MoveOpportunityStageInput) -> OpportunityPayload:
    async def change(uow: UnitOfWork) -> Opportunity:
        return await stage_gates.move_stage(
            uow,
            id_of(input.id, "Opportunity", "id"),
            input.stage,
            reason=input.reason,
            reason_code=input.reason_code,
            competitor=input.competitor,
            expected_version=input.expected_version,
        )

    return await change_opportunity(info, change)
