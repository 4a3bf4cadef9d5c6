"""`updateOpportunity`: change an opportunity the caller may edit."""

from __future__ import annotations

import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.graphql.inputs import patch
from api.graphql.record_versions import expected_version_field
from api.graphql.relay import id_of
from api.graphql.selling.opportunities.mutations.payloads import OpportunityPayload, change_opportunity
from api.graphql.selling.opportunities.types import ForecastCategoryType
from domain.access.unit_of_work import UnitOfWork
from domain.selling import opportunity_changes
from domain.selling.opportunities import Opportunity
from domain.selling.opportunity_changes import OpportunityChanges

U = strawberry.UNSET


@strawberry.input(description="Changes to an opportunity; fields left out stay as they are.")
class UpdateOpportunityInput:
    id: strawberry.ID = strawberry.field(description="The opportunity.")
    name: str | None = strawberry.field(default=U, description="Deal name.")
    amount: Decimal | None = strawberry.field(default=U, description="Expected value.")
    currency: str | None = strawberry.field(default=U, description="ISO 4217 code.")
    close_date: datetime.date | None = strawberry.field(default=U, description="Expected close date.")
    probability: int | None = strawberry.field(default=U, description="Win probability, 0–100.")
    forecast_category: ForecastCategoryType | None = strawberry.field(default=U, description="Forecast bucket.")
    margin: Decimal | None = strawberry.field(default=U, description="Margin fraction (internal-only).")
    internal_notes: str | None = strawberry.field(default=U, description="Internal notes (internal-only).")
    budget: Decimal | None = strawberry.field(default=U, description="The customer's budget, in the deal's currency.")
    decision_date: datetime.date | None = strawberry.field(default=U, description="When the customer decides.")
    expected_version: int | None = expected_version_field()


@strawberry.mutation(description="Change an opportunity the caller may edit.")
async def update_opportunity(info: Info, input: UpdateOpportunityInput) -> OpportunityPayload:
    async def change(uow: UnitOfWork) -> Opportunity:
        changes = OpportunityChanges(
            name=patch(input.name),
            amount=patch(input.amount),
            currency=patch(input.currency),
            close_date=patch(input.close_date),
            probability=patch(input.probability),
            forecast_category=patch(input.forecast_category),
            margin=patch(input.margin),
            internal_notes=patch(input.internal_notes),
            budget=patch(input.budget),
            decision_date=patch(input.decision_date),
        )
        return await opportunity_changes.update_opportunity(
            uow, id_of(input.id, "Opportunity", "id"), changes, expected_version=input.expected_version
        )

    return await change_opportunity(info, change)
