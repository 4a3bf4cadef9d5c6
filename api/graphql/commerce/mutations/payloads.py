"""The payloads several commerce mutations answer with, the runners that build them, and the IDs they parse."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import strawberry
from strawberry.types import Info

from api.graphql.commerce.types import ContractType, OrderType, PriceListType, QuoteType
from api.graphql.errors import UserError
from api.graphql.mutation import mutate
from api.graphql.relay import id_of
from domain.access.unit_of_work import UnitOfWork
from domain.commerce import catalog
from domain.commerce.contracts import Contract
from domain.commerce.orders import Order
from domain.commerce.quotes import Quote


@strawberry.type(description="The result of a quote mutation.")
class QuotePayload:
    quote: QuoteType | None = strawberry.field(description="The quote; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type(description="The result of an order mutation.")
class OrderPayload:
    order: OrderType | None = strawberry.field(description="The order; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type(description="The result of a contract mutation.")
class ContractPayload:
    contract: ContractType | None = strawberry.field(description="The contract; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type(description="The result of changing a price list.")
class PriceListPayload:
    price_list: PriceListType | None = strawberry.field(description="The price list; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def quote_payload(row: Quote | None) -> QuotePayload:
    return QuotePayload(quote=QuoteType.from_row(row) if row else None, errors=[])


def quote_failed(errors: list[UserError]) -> QuotePayload:
    return QuotePayload(quote=None, errors=errors)


def order_payload(row: Order | None) -> OrderPayload:
    return OrderPayload(order=OrderType.from_row(row) if row else None, errors=[])


def order_failed(errors: list[UserError]) -> OrderPayload:
    return OrderPayload(order=None, errors=errors)


def contract_payload(row: Contract | None) -> ContractPayload:
    return ContractPayload(contract=ContractType.from_row(row) if row else None, errors=[])


def contract_failed(errors: list[UserError]) -> ContractPayload:
    return ContractPayload(contract=None, errors=errors)


def price_list_payload(row: catalog.PriceList | None) -> PriceListPayload:
    # The list as written, not re-read: only internal editors change price lists, and they read every one.
    return PriceListPayload(price_list=PriceListType.from_row(row) if row else None, errors=[])


def price_list_failed(errors: list[UserError]) -> PriceListPayload:
    return PriceListPayload(price_list=None, errors=errors)


def change_quote(info: Info, change: Callable[[UnitOfWork], Awaitable[Quote]]) -> Awaitable[QuotePayload]:
    return mutate(info, change, payload=quote_payload, failed=quote_failed, node="Quote")


def change_order(info: Info, change: Callable[[UnitOfWork], Awaitable[Order]]) -> Awaitable[OrderPayload]:
    return mutate(info, change, payload=order_payload, failed=order_failed, node="Order")


def change_contract(info: Info, change: Callable[[UnitOfWork], Awaitable[Contract]]) -> Awaitable[ContractPayload]:
    return mutate(info, change, payload=contract_payload, failed=contract_failed, node="Contract")


def parse_quote_id(value: strawberry.ID) -> uuid.UUID:
    return id_of(value, "Quote", "id")


def parse_contract_id(value: strawberry.ID) -> uuid.UUID:
    return id_of(value, "Contract", "id")
