"""`setStageGate`: configure what entering a stage requires (admins)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError
from api.graphql.mutation import mutate
from api.graphql.selling.opportunities.types import SalesRoleType, StageGateType, StageType
from domain.access.unit_of_work import UnitOfWork
from domain.selling import stage_gates
from domain.selling.stage_gates import StageGate


@strawberry.input(description="Configure what entering a stage requires (admins).")
class SetStageGateInput:
    stage: StageType = strawberry.field(description="The stage.")
    required_fields: list[str] = strawberry.field(description="Of budget, decisionDate, margin, closeDate.")
    require_decision_maker: bool = strawberry.field(description="A decision maker must be in the buying centre.")
    required_team_roles: list[SalesRoleType] = strawberry.field(description="Roles that must be on the team.")
    requires_approval: bool = strawberry.field(description="A manager must approve entering it.")


@strawberry.type(description="The result of a stage gate or approval mutation.")
class StageGatePayload:
    gate: StageGateType | None = strawberry.field(description="The gate; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def _gate_set(gate: StageGate) -> StageGatePayload:
    return StageGatePayload(gate=StageGateType.from_row(gate), errors=[])


@strawberry.mutation(description="Configure what entering a stage requires (admins).")
async def set_stage_gate(info: Info, input: SetStageGateInput) -> StageGatePayload:
    async def change(uow: UnitOfWork) -> StageGate:
        return await stage_gates.set_gate(
            uow,
            input.stage,
            required_fields=list(input.required_fields),
            require_decision_maker=input.require_decision_maker,
            required_team_roles=list(input.required_team_roles),
            requires_approval=input.requires_approval,
        )

    return await mutate(
        info, change, payload=_gate_set, failed=lambda errors: StageGatePayload(gate=None, errors=errors)
    )
