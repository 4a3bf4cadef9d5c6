"""`createOpportunity`: open an opportunity. A partner user's deals are linked to their organization."""

from __future__ import annotations

import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.graphql.idempotency import idempotency_key_field
from api.graphql.mutation import mutate
from api.graphql.relay import id_of, optional_id_of
from api.graphql.selling.opportunities.mutations.payloads import (
    OpportunityPayload,
    opportunity_failed,
    opportunity_payload,
)
from api.graphql.selling.opportunities.types import StageType
from domain.access.unit_of_work import UnitOfWork
from domain.selling import opportunity_changes
from domain.selling.opportunities import Opportunity
from domain.selling.opportunity_changes import OpportunityChanges
from domain.shared.commands import UNSET


@strawberry.input(description="A new opportunity on an account the caller can see.")
class CreateOpportunityInput:
    account_id: strawberry.ID = strawberry.field(description="The account.")
    name: str = strawberry.field(description="Deal name (1–200 characters).")
    amount: Decimal = strawberry.field(description="Expected value, not negative, at most two decimals.")
    currency: str = strawberry.field(description="ISO 4217 code, e.g. USD.")
    close_date: datetime.date = strawberry.field(description="Expected close date.")
    stage: StageType | None = strawberry.field(
        default=None, description="Starting stage; the pipeline's first stage if left out."
    )
    pipeline_id: strawberry.ID | None = strawberry.field(
        default=None, description="The pipeline to follow; the tenant's default if left out."
    )
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="Owner; defaults to the caller.")
    margin: Decimal | None = strawberry.field(default=None, description="Expected margin fraction (internal-only).")
    internal_notes: str | None = strawberry.field(default=None, description="Internal notes (internal-only).")
    budget: Decimal | None = strawberry.field(
        default=None, description="The customer's budget, in the deal's currency (a gate may require it)."
    )
    decision_date: datetime.date | None = strawberry.field(
        default=None, description="When the customer decides (a gate may require it)."
    )
    idempotency_key: str | None = idempotency_key_field()


@strawberry.mutation(description="Open an opportunity. A partner user's deals are linked to their organization.")
async def create_opportunity(info: Info, input: CreateOpportunityInput) -> OpportunityPayload:
    async def create(uow: UnitOfWork) -> Opportunity:
        # An optional field left null is left out.
        changes = OpportunityChanges(
            name=input.name,
            amount=input.amount,
            currency=input.currency,
            close_date=input.close_date,
            margin=UNSET if input.margin is None else input.margin,
            internal_notes=UNSET if input.internal_notes is None else input.internal_notes,
            budget=UNSET if input.budget is None else input.budget,
            decision_date=UNSET if input.decision_date is None else input.decision_date,
        )
        return await opportunity_changes.create_opportunity(
            uow,
            id_of(input.account_id, "Account", "accountId"),
            changes,
            owner_id=id_of(input.owner_id, "User", "ownerId") if input.owner_id else None,
            stage=input.stage,
            pipeline_id=optional_id_of(input.pipeline_id, "Pipeline", "pipelineId"),
        )

    return await mutate(
        info,
        create,
        payload=opportunity_payload,
        failed=opportunity_failed,
        node="Opportunity",
        idempotency_key=input.idempotency_key,
        request=input,
    )
