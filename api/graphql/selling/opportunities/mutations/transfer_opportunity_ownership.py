"""`transferOpportunityOwnership`: hand an opportunity to another owner, with a reason."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.record_versions import expected_version_field
from api.graphql.relay import id_of
from api.graphql.selling.opportunities.mutations.payloads import OpportunityPayload, change_opportunity
from domain.access.unit_of_work import UnitOfWork
from domain.selling import opportunities as uc
from domain.selling.opportunities import Opportunity


@strawberry.input(description="Hand an opportunity to another owner.")
class TransferOwnershipInput:
    id: strawberry.ID = strawberry.field(description="The opportunity.")
    new_owner_id: strawberry.ID = strawberry.field(description="The new owner.")
    reason: str = strawberry.field(description="Why (required, kept in the audit trail).")
    keep_previous_owner_on_team: bool = strawberry.field(
        default=False, description="Keep the previous owner on the team with READ access."
    )
    expected_version: int | None = expected_version_field()


@strawberry.mutation(description="Hand an opportunity to another owner, with a reason.")
async def transfer_opportunity_ownership(info: Info, input: TransferOwnershipInput) -> OpportunityPayload:
    async def change(uow: UnitOfWork) -> Opportunity:
        return await uc.transfer_ownership(
            uow,
            id_of(input.id, "Opportunity", "id"),
            id_of(input.new_owner_id, "User", "newOwnerId"),
            input.reason,
            keep_previous_owner_on_team=input.keep_previous_owner_on_team,
            expected_version=input.expected_version,
        )

    return await change_opportunity(info, change)
