"""receivablesBreakdown: receivables line by line, per order or per customer."""

from __future__ import annotations

import uuid
from typing import TypeAlias

import strawberry
from strawberry.types import Info

from api.graphql.commerce.types import OrderType, ReceivablesType
from api.graphql.descriptions import describe_values, described_arguments
from api.graphql.errors import query_value
from api.graphql.relay import optional_id_of
from api.graphql.resolving import load, read
from api.graphql.selling.accounts.types import AccountType
from domain.commerce import balances
from domain.commerce.balances import ReceivablesGrouping, ReceivablesLine
from domain.shared.base import utcnow
from domain.shared.errors import ErrorCode, FieldError, ValidationFailed

ReceivablesGroupingType: TypeAlias = ReceivablesGrouping
strawberry.enum(
    ReceivablesGroupingType, name="ReceivablesGrouping", description="What a receivables breakdown has a line for."
)
describe_values(
    ReceivablesGroupingType,
    {
        "ORDER": "One line per order (orders only).",
        "ACCOUNT": "One line per end customer, orders and contracts together (none for a partner's own stock).",
    },
)


@strawberry.type(name="ReceivablesLine", description="One order's or one customer's receivables in one currency.")
class ReceivablesLineType:
    row: strawberry.Private[ReceivablesLine]

    @strawberry.field(description="The order (by ORDER), when visible; null by ACCOUNT.")
    async def order(self, info: Info) -> OrderType | None:
        row = await load(info, "Order", self.row.order_id)
        return OrderType.from_row(row) if row else None

    @strawberry.field(
        description="The customer (by ACCOUNT), when visible; null by ORDER, and for a partner's own stock orders."
    )
    async def account(self, info: Info) -> AccountType | None:
        row = await load(info, "Account", self.row.account_id)
        return AccountType.from_row(row) if row else None

    @strawberry.field(description="Whether this line is a partner's own stock (by ACCOUNT, no customer).")
    def own_stock(self) -> bool:
        return self.row.order_id is None and self.row.account_id is None

    @strawberry.field(description="Planned, billed, paid, due and overdue.")
    def receivables(self) -> ReceivablesType:
        return ReceivablesType(row=self.row.totals)


def _line_count(first: int) -> int:
    if not 1 <= first <= 100:
        raise ValidationFailed([FieldError("first", ErrorCode.OUT_OF_RANGE, "first must be between 1 and 100.")])
    return first


def _optional_id(value: strawberry.ID | None, type_name: str, field: str) -> uuid.UUID | None:
    return query_value(lambda: optional_id_of(value, type_name, field))


@strawberry.type
class ReceivablesQueries:
    @described_arguments(
        by="One line per ORDER (orders only), or per ACCOUNT (orders and contracts together).",
        partner_id="Only this partner's own purchases.",
        account_id="Only this customer account's.",
        first="How many lines at most, 1 to 100.",
    )
    @strawberry.field(
        description="The receivables of the orders and contracts the viewer may see, one line per order (orders "
        "only) or per customer (orders and contracts) and currency, the most overdue first, at most `first` lines "
        "(1 to 100); narrow by partner (its own purchases) or account, as `receivables` does."
    )
    async def receivables_breakdown(
        self,
        info: Info,
        by: ReceivablesGroupingType,
        partner_id: strawberry.ID | None = None,
        account_id: strawberry.ID | None = None,
        first: int = 50,
    ) -> list[ReceivablesLineType]:
        limit = query_value(lambda: _line_count(first))
        flt = balances.ReceivablesFilter(
            account_id=_optional_id(account_id, "Account", "accountId"),
            partner_id=_optional_id(partner_id, "Organization", "partnerId"),
        )
        lines = await read(info, lambda uow: balances.visible_breakdown(uow, flt, utcnow().date(), by, limit=limit))
        return [ReceivablesLineType(row=line) for line in lines]
