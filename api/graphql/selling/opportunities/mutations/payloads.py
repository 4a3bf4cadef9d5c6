"""The payloads several opportunity mutations answer with, and the runners that build them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError
from api.graphql.mutation import mutate
from api.graphql.selling.opportunities.types import OpportunityType, StageApprovalType
from domain.access.unit_of_work import UnitOfWork
from domain.selling.opportunities import Opportunity
from domain.selling.stage_gates import StageApproval


@strawberry.type(description="The result of a stage approval mutation.")
class StageApprovalPayload:
    approval: StageApprovalType | None = strawberry.field(description="The approval; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type(description="The result of an opportunity mutation.")
class OpportunityPayload:
    opportunity: OpportunityType | None = strawberry.field(
        description="The opportunity as it now is; null when errors."
    )
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def opportunity_failed(errors: list[UserError]) -> OpportunityPayload:
    return OpportunityPayload(opportunity=None, errors=errors)


def opportunity_payload(row: Opportunity | None) -> OpportunityPayload:
    return OpportunityPayload(opportunity=OpportunityType.from_row(row) if row else None, errors=[])


async def change_opportunity(info: Info, change: Callable[[UnitOfWork], Awaitable[Opportunity]]) -> OpportunityPayload:
    """Run one change of an opportunity and answer with the opportunity as the caller may now see it."""
    return await mutate(info, change, payload=opportunity_payload, failed=opportunity_failed, node="Opportunity")


def approval_payload(row: StageApproval | None) -> StageApprovalPayload:
    return StageApprovalPayload(approval=StageApprovalType.from_row(row) if row else None, errors=[])


def approval_failed(errors: list[UserError]) -> StageApprovalPayload:
    return StageApprovalPayload(approval=None, errors=errors)
