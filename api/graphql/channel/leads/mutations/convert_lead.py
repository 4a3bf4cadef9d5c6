"""`convertLead`: convert a lead into an account (new or existing), a contact and an opportunity."""

from __future__ import annotations

import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.graphql.channel.leads.mutations.payloads import LeadPayload, change_lead, parse_lead_id
from api.graphql.relay import optional_id_of
from domain.access.unit_of_work import UnitOfWork
from domain.channel import leads
from domain.channel.leads import Conversion, Lead


@strawberry.input(description="Convert a lead into an account, a contact and an opportunity.")
class ConvertLeadInput:
    id: strawberry.ID = strawberry.field(description="The lead.")
    account_id: strawberry.ID | None = strawberry.field(default=None, description="An existing account to merge into.")
    opportunity_name: str | None = strawberry.field(default=None, description="Defaults from the company name.")
    amount: Decimal = strawberry.field(description="Expected value.")
    currency: str = strawberry.field(description="ISO 4217 code.")
    close_date: datetime.date = strawberry.field(description="Expected close date.")


@strawberry.mutation(description="Convert a lead into an account (new or existing), a contact and an opportunity.")
async def convert_lead(info: Info, input: ConvertLeadInput) -> LeadPayload:
    async def change(uow: UnitOfWork) -> Lead:
        cmd = Conversion(
            opportunity_name=input.opportunity_name,
            amount=input.amount,
            currency=input.currency,
            close_date=input.close_date,
            account_id=optional_id_of(input.account_id, "Account", "accountId"),
        )
        return await leads.convert_lead(uow, parse_lead_id(input.id), cmd)

    return await change_lead(info, change)
