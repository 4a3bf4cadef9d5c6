"""myCredit: what a partner may still order for, before it orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.graphql.resolving import read
from domain.commerce.credit import CreditPosition, credit_position


@strawberry.type(
    name="PartnerCredit",
    description="A partner's credit with the enterprise as the ERP last reported it; amounts in `currency`.",
)
class PartnerCreditType:
    row: strawberry.Private[CreditPosition]

    @strawberry.field(description="The credit limit the ERP sets.")
    def limit(self) -> Decimal:
        return self.row.limit

    @strawberry.field(description="What the ERP says the partner owes now (invoiced, not yet paid).")
    def owed(self) -> Decimal:
        return self.row.owed

    @strawberry.field(description="The partner's orders not cancelled and not yet invoiced by the ERP, less paid.")
    def uninvoiced(self) -> Decimal:
        return self.row.uninvoiced

    @strawberry.field(
        description="What the partner may still order for: limit − owed − uninvoiced (negative when over). "
        "placePartnerOrder refuses an order above it."
    )
    def available(self) -> Decimal:
        return self.row.available

    @strawberry.field(description="ISO 4217 code of the amounts: the currency the ERP prices the catalogue in.")
    def currency(self) -> str | None:
        return self.row.currency

    @strawberry.field(description="When the ERP last reported the limit and what is owed.")
    def as_of(self) -> datetime:
        return self.row.as_of


@strawberry.type
class CreditQueries:
    @strawberry.field(
        description="Your organization's credit: null for internal users, and when the ERP sets no limit or has "
        "not reported one yet. Placing an order asks the ERP afresh."
    )
    async def my_credit(self, info: Info) -> PartnerCreditType | None:
        position = await read(info, credit_position)
        return PartnerCreditType(row=position) if position else None
