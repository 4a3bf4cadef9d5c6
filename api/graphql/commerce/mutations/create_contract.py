"""`createContract`: draft a contract from a won opportunity's accepted quote, or from an order."""

from __future__ import annotations

import datetime

import strawberry
from strawberry.types import Info

from api.graphql.commerce.mutations.payloads import ContractPayload, contract_failed, contract_payload
from api.graphql.idempotency import idempotency_key_field
from api.graphql.mutation import mutate
from api.graphql.relay import id_of, optional_id_of
from domain.access.unit_of_work import UnitOfWork
from domain.commerce import contracts
from domain.commerce.contracts import Contract


@strawberry.input(description="A draft contract from a won opportunity or from an order.")
class CreateContractInput:
    opportunity_id: strawberry.ID | None = strawberry.field(default=None, description="A won opportunity.")
    order_id: strawberry.ID | None = strawberry.field(default=None, description="Or an order.")
    start_date: datetime.date = strawberry.field(description="First day.")
    term_months: int = strawberry.field(description="Term, 1 to 120 months.")
    product_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="The products it covers, of the quote's or order's lines (null: all)."
    )
    idempotency_key: str | None = idempotency_key_field()


@strawberry.mutation(description="Draft a contract from a won opportunity's accepted quote, or from an order.")
async def create_contract(info: Info, input: CreateContractInput) -> ContractPayload:
    async def change(uow: UnitOfWork) -> Contract:
        products = input.product_ids
        return await contracts.create_contract(
            uow,
            opportunity_id=optional_id_of(input.opportunity_id, "Opportunity", "opportunityId"),
            order_id=optional_id_of(input.order_id, "Order", "orderId"),
            start_date=input.start_date,
            term_months=input.term_months,
            product_ids=None
            if products is None
            else [id_of(p, "Product", f"productIds[{i}]") for i, p in enumerate(products)],
        )

    return await mutate(
        info,
        change,
        payload=contract_payload,
        failed=contract_failed,
        node="Contract",
        idempotency_key=input.idempotency_key,
        request=input,
    )
