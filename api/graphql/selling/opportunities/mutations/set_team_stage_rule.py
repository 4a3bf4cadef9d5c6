"""`setTeamStageRule`: set one cell of the team access table (admins)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError
from api.graphql.mutation import mutate
from api.graphql.selling.opportunities.types import FieldGroupType, SalesRoleType, StageType, TeamStageRuleType
from domain.access.unit_of_work import UnitOfWork
from domain.selling import team_stage_rules
from domain.selling.team_stage_rules import TeamStageRule


@strawberry.input(description="One cell of the team access table: may a sales role change a field group in a stage.")
class SetTeamStageRuleInput:
    sales_role: SalesRoleType = strawberry.field(description="The team role.")
    stage: StageType = strawberry.field(description="The stage.")
    field_group: FieldGroupType = strawberry.field(description="COMMERCIAL, DETAILS or STAGE (moving it).")
    can_edit: bool = strawberry.field(description="Whether members in that role may change it in that stage.")


@strawberry.type(description="The result of setting a team access rule.")
class TeamStageRulePayload:
    rule: TeamStageRuleType | None = strawberry.field(description="The rule; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def _rule_set(rule: TeamStageRule) -> TeamStageRulePayload:
    return TeamStageRulePayload(rule=TeamStageRuleType.from_row(rule), errors=[])


@strawberry.mutation(description="Set one cell of the team access table (admins).")
async def set_team_stage_rule(info: Info, input: SetTeamStageRuleInput) -> TeamStageRulePayload:
    async def change(uow: UnitOfWork) -> TeamStageRule:
        return await team_stage_rules.set_rule(uow, input.sales_role, input.stage, input.field_group, input.can_edit)

    return await mutate(
        info, change, payload=_rule_set, failed=lambda errors: TeamStageRulePayload(rule=None, errors=errors)
    )
