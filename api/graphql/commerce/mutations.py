"""Mutations: quotes through their life, orders (from quotes, or partner self-service), contracts, price lists,
and the ERP side: pull products now, retry a dead outbox message."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.graphql.channel.partner_kinds import PartnerKindType, PartnerTierType, organization_kind, partner_tier
from api.graphql.commerce.types import (
    CommerceSettingsType,
    ContractType,
    OrderType,
    OutboxMessageType,
    PriceListType,
    QuoteType,
    settings_type,
)
from api.graphql.descriptions import described_arguments
from api.graphql.errors import UserError
from api.graphql.idempotency import KEY_DESCRIPTION, idempotency_key_field
from api.graphql.mutation import mutate
from api.graphql.record_versions import EXPECTED_EDIT_VERSION_DESCRIPTION, EXPECTED_VERSION_DESCRIPTION
from api.graphql.relay import id_of, optional_id_of
from api.graphql.resolving import ctx
from domain.access.unit_of_work import UnitOfWork
from domain.commerce import catalog, contracts, orders, quotes
from domain.commerce import settings as commerce_settings
from domain.commerce.contracts import Contract
from domain.commerce.orders import Order
from domain.commerce.quotes import LineInput, Quote
from domain.shared.errors import ErrorCode, FieldError, ValidationFailed
from services import commerce as commerce_services
from services import erp as erp_services


@strawberry.input(description="A product and quantity; internal quotes may give a discount.")
class LineItemInput:
    product_id: strawberry.ID = strawberry.field(description="The product.")
    quantity: Decimal = strawberry.field(description="Quantity, above 0, two decimal places at most.")
    discount_percent: Decimal = strawberry.field(default=Decimal("0"), description="Line discount, 0 to 100.")


def _lines(items: list[LineItemInput] | None) -> list[LineInput] | None:
    if items is None:
        return None
    return [
        LineInput(id_of(x.product_id, "Product", f"lines[{i}].productId"), x.quantity, x.discount_percent)
        for i, x in enumerate(items)
    ]


@strawberry.input(description="A new quote on an opportunity.")
class CreateQuoteInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    lines: list[LineItemInput] = strawberry.field(description="Lines, at least one.")
    valid_until: datetime.date | None = strawberry.field(default=None, description="Last day it may be accepted.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(description="A new version of a quote.")
class ReviseQuoteInput:
    id: strawberry.ID = strawberry.field(description="The quote's newest version.")
    lines: list[LineItemInput] | None = strawberry.field(default=None, description="New lines (null: keep).")
    expected_edit_version: int | None = strawberry.field(default=None, description=EXPECTED_EDIT_VERSION_DESCRIPTION)


@strawberry.input(description="A partner's order at its price list's prices.")
class PlacePartnerOrderInput:
    account_id: strawberry.ID | None = strawberry.field(
        default=None, description="The end customer; null orders for the partner's own stock."
    )
    lines: list[LineItemInput] = strawberry.field(description="Lines, at least one; no discounts.")
    idempotency_key: str | None = idempotency_key_field()


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


@strawberry.input(description="The price list of a partner kind and/or tier.")
class SetPriceListInput:
    name: str = strawberry.field(description="Name.")
    partner_kind: PartnerKindType | None = strawberry.field(default=None, description="Kind it applies to.")  # type: ignore[valid-type]
    partner_tier: PartnerTierType | None = strawberry.field(default=None, description="Tier it applies to.")  # type: ignore[valid-type]
    discount_percent: Decimal = strawberry.field(description="Percent off list price, 0 to below 100.")


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


@strawberry.input(description="Commerce settings to change; null leaves one as it is.")
class CommerceSettingsInput:
    quote_approval_discount_percent: Decimal | None = strawberry.field(default=None, description="0 to 100.")
    payment_terms_days: int | None = strawberry.field(default=None, description="0 to 365.")
    contract_renewal_days: int | None = strawberry.field(default=None, description="1 to 730.")


@strawberry.type(description="The result of changing commerce settings.")
class CommerceSettingsPayload:
    settings: CommerceSettingsType | None = strawberry.field(description="The settings now; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type(description="The result of pulling the ERP's products.")
class ProductSyncPayload:
    changed: int | None = strawberry.field(description="How many products were added, changed or retired.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type(description="The result of retrying an outbox message.")
class OutboxMessagePayload:
    message: OutboxMessageType | None = strawberry.field(description="The message, queued again; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def _quote_payload(row: Quote | None) -> QuotePayload:
    return QuotePayload(quote=QuoteType.from_row(row) if row else None, errors=[])


def _quote_failed(errors: list[UserError]) -> QuotePayload:
    return QuotePayload(quote=None, errors=errors)


def _order_payload(row: Order | None) -> OrderPayload:
    return OrderPayload(order=OrderType.from_row(row) if row else None, errors=[])


def _order_failed(errors: list[UserError]) -> OrderPayload:
    return OrderPayload(order=None, errors=errors)


def _contract_payload(row: Contract | None) -> ContractPayload:
    return ContractPayload(contract=ContractType.from_row(row) if row else None, errors=[])


def _contract_failed(errors: list[UserError]) -> ContractPayload:
    return ContractPayload(contract=None, errors=errors)


def _price_list_payload(row: catalog.PriceList | None) -> PriceListPayload:
    # The list as written, not re-read: only internal editors change price lists, and they read every one.
    return PriceListPayload(price_list=PriceListType.from_row(row) if row else None, errors=[])


def _price_list_failed(errors: list[UserError]) -> PriceListPayload:
    return PriceListPayload(price_list=None, errors=errors)


def _quote(info: Info, change: Callable[[UnitOfWork], Awaitable[Quote]]) -> Awaitable[QuotePayload]:
    return mutate(info, change, payload=_quote_payload, failed=_quote_failed, node="Quote")


def _order(info: Info, change: Callable[[UnitOfWork], Awaitable[Order]]) -> Awaitable[OrderPayload]:
    return mutate(info, change, payload=_order_payload, failed=_order_failed, node="Order")


def _contract(info: Info, change: Callable[[UnitOfWork], Awaitable[Contract]]) -> Awaitable[ContractPayload]:
    return mutate(info, change, payload=_contract_payload, failed=_contract_failed, node="Contract")


def _qid(value: strawberry.ID) -> uuid.UUID:
    return id_of(value, "Quote", "id")


def _cid(value: strawberry.ID) -> uuid.UUID:
    return id_of(value, "Contract", "id")


@strawberry.type
class CommerceMutations:
    @strawberry.mutation(description="Draft a quote, priced for the buyer (a partner's price list, else list price).")
    async def create_quote(self, info: Info, input: CreateQuoteInput) -> QuotePayload:
        async def change(uow: UnitOfWork) -> Quote:
            opportunity = id_of(input.opportunity_id, "Opportunity", "opportunityId")
            return await quotes.create_quote(uow, opportunity, _lines(input.lines) or [], valid_until=input.valid_until)

        return await mutate(
            info,
            change,
            payload=_quote_payload,
            failed=_quote_failed,
            node="Quote",
            idempotency_key=input.idempotency_key,
            request=input,
        )

    @strawberry.mutation(description="Make a new draft version; the old one is superseded.")
    async def revise_quote(self, info: Info, input: ReviseQuoteInput) -> QuotePayload:
        return await _quote(
            info,
            lambda uow: quotes.revise_quote(
                uow, _qid(input.id), _lines(input.lines), expected_version=input.expected_edit_version
            ),
        )

    @described_arguments(id="The draft quote.", expected_edit_version=EXPECTED_EDIT_VERSION_DESCRIPTION)
    @strawberry.mutation(
        description="Submit a draft: approved at once, or pending approval above the discount threshold."
    )
    async def submit_quote(
        self, info: Info, id: strawberry.ID, expected_edit_version: int | None = None
    ) -> QuotePayload:
        return await _quote(
            info, lambda uow: quotes.submit_quote(uow, _qid(id), expected_version=expected_edit_version)
        )

    @described_arguments(id="The quote pending approval.", expected_edit_version=EXPECTED_EDIT_VERSION_DESCRIPTION)
    @strawberry.mutation(description="Approve a quote's discount (managers of its territory, directors).")
    async def approve_quote(
        self, info: Info, id: strawberry.ID, expected_edit_version: int | None = None
    ) -> QuotePayload:
        return await _quote(
            info,
            lambda uow: quotes.decide_quote(uow, _qid(id), approve=True, expected_version=expected_edit_version),
        )

    @described_arguments(id="The quote pending approval.", expected_edit_version=EXPECTED_EDIT_VERSION_DESCRIPTION)
    @strawberry.mutation(description="Reject a quote's discount; revise it to try again.")
    async def reject_quote(
        self, info: Info, id: strawberry.ID, expected_edit_version: int | None = None
    ) -> QuotePayload:
        return await _quote(
            info,
            lambda uow: quotes.decide_quote(uow, _qid(id), approve=False, expected_version=expected_edit_version),
        )

    @described_arguments(id="The approved quote.", expected_edit_version=EXPECTED_EDIT_VERSION_DESCRIPTION)
    @strawberry.mutation(description="Mark an approved quote as sent to the customer.")
    async def send_quote(self, info: Info, id: strawberry.ID, expected_edit_version: int | None = None) -> QuotePayload:
        return await _quote(info, lambda uow: quotes.send_quote(uow, _qid(id), expected_version=expected_edit_version))

    @described_arguments(id="The sent quote.", expected_edit_version=EXPECTED_EDIT_VERSION_DESCRIPTION)
    @strawberry.mutation(description="Record the customer's acceptance of a sent quote.")
    async def accept_quote(
        self, info: Info, id: strawberry.ID, expected_edit_version: int | None = None
    ) -> QuotePayload:
        return await _quote(
            info, lambda uow: quotes.accept_quote(uow, _qid(id), expected_version=expected_edit_version)
        )

    @described_arguments(quote_id="The accepted quote of a won opportunity.", idempotency_key=KEY_DESCRIPTION)
    @strawberry.mutation(description="Turn the accepted quote of a won opportunity into an order (queued for the ERP).")
    async def create_order_from_quote(
        self, info: Info, quote_id: strawberry.ID, idempotency_key: str | None = None
    ) -> OrderPayload:
        return await mutate(
            info,
            lambda uow: orders.order_from_quote(uow, id_of(quote_id, "Quote", "quoteId")),
            payload=_order_payload,
            failed=_order_failed,
            node="Order",
            idempotency_key=idempotency_key,
            request={"quoteId": quote_id},
        )

    @strawberry.mutation(
        description="A partner orders for a customer or its stock, at its price list's prices, within its credit "
        "limit (asked of the ERP now; the last known standing when the ERP does not answer)."
    )
    async def place_partner_order(self, info: Info, input: PlacePartnerOrderInput) -> OrderPayload:
        await commerce_services.refresh_ordering_credit(ctx(info).sessions, ctx(info).access)

        async def change(uow: UnitOfWork) -> Order:
            account = optional_id_of(input.account_id, "Account", "accountId")
            return await orders.place_partner_order(uow, _lines(input.lines) or [], account_id=account)

        return await mutate(
            info,
            change,
            payload=_order_payload,
            failed=_order_failed,
            node="Order",
            idempotency_key=input.idempotency_key,
            request=input,
        )

    @described_arguments(
        id="The order, not yet received by the ERP.",
        reason="Why it is cancelled (kept in the audit trail).",
    )
    @strawberry.mutation(
        description="Cancel an order the ERP has not received yet, with a reason; once the ERP has it, cancel it "
        "there and the CRM follows."
    )
    async def cancel_order(self, info: Info, id: strawberry.ID, reason: str) -> OrderPayload:
        return await _order(info, lambda uow: orders.cancel_order(uow, id_of(id, "Order", "id"), reason))

    @strawberry.mutation(description="Draft a contract from a won opportunity's accepted quote, or from an order.")
    async def create_contract(self, info: Info, input: CreateContractInput) -> ContractPayload:
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
            payload=_contract_payload,
            failed=_contract_failed,
            node="Contract",
            idempotency_key=input.idempotency_key,
            request=input,
        )

    @described_arguments(id="The draft contract.", expected_version=EXPECTED_VERSION_DESCRIPTION)
    @strawberry.mutation(description="Send a draft contract for approval.")
    async def submit_contract(
        self, info: Info, id: strawberry.ID, expected_version: int | None = None
    ) -> ContractPayload:
        return await _contract(
            info, lambda uow: contracts.submit_contract(uow, _cid(id), expected_version=expected_version)
        )

    @described_arguments(id="The contract in approval.", expected_version=EXPECTED_VERSION_DESCRIPTION)
    @strawberry.mutation(
        description="Approve: the contract turns active, gets its payment plan and is queued for the ERP."
    )
    async def approve_contract(
        self, info: Info, id: strawberry.ID, expected_version: int | None = None
    ) -> ContractPayload:
        return await _contract(
            info,
            lambda uow: contracts.decide_contract(uow, _cid(id), approve=True, expected_version=expected_version),
        )

    @described_arguments(id="The contract in approval.", expected_version=EXPECTED_VERSION_DESCRIPTION)
    @strawberry.mutation(description="Send a contract in approval back to draft.")
    async def reject_contract(
        self, info: Info, id: strawberry.ID, expected_version: int | None = None
    ) -> ContractPayload:
        return await _contract(
            info,
            lambda uow: contracts.decide_contract(uow, _cid(id), approve=False, expected_version=expected_version),
        )

    @described_arguments(
        id="The active contract.",
        reason="Why it ends (kept in the audit trail).",
        effective_date="The day it ends; today when left out.",
        expected_version=EXPECTED_VERSION_DESCRIPTION,
    )
    @strawberry.mutation(
        description="Terminate a contract with a reason, from effectiveDate (default today): it ends then, later "
        "installments are dropped, and the ERP is told to stop billing at that date."
    )
    async def terminate_contract(
        self,
        info: Info,
        id: strawberry.ID,
        reason: str,
        effective_date: datetime.date | None = None,
        expected_version: int | None = None,
    ) -> ContractPayload:
        return await _contract(
            info,
            lambda uow: contracts.terminate_contract(
                uow, _cid(id), reason, effective_date, expected_version=expected_version
            ),
        )

    @strawberry.mutation(description="Create or change the price list of a partner kind and/or tier.")
    async def set_price_list(self, info: Info, input: SetPriceListInput) -> PriceListPayload:
        return await mutate(
            info,
            lambda uow: catalog.set_price_list(
                uow,
                name=input.name,
                partner_kind=organization_kind(input.partner_kind),
                partner_tier=partner_tier(input.partner_tier),
                discount_percent=input.discount_percent,
            ),
            payload=_price_list_payload,
            failed=_price_list_failed,
        )

    @strawberry.mutation(description="Change the tenant's commerce settings (admins).")
    async def set_commerce_settings(self, info: Info, input: CommerceSettingsInput) -> CommerceSettingsPayload:
        return await mutate(
            info,
            lambda uow: commerce_settings.change(
                uow,
                quote_approval_discount_percent=input.quote_approval_discount_percent,
                payment_terms_days=input.payment_terms_days,
                contract_renewal_days=input.contract_renewal_days,
            ),
            payload=lambda row: CommerceSettingsPayload(settings=settings_type(row), errors=[]),
            failed=lambda errors: CommerceSettingsPayload(settings=None, errors=errors),
        )

    @described_arguments(
        price_list_id="The price list.",
        product_id="The product.",
        unit_price="The fixed unit price, in the product's currency; null removes it (the discount applies).",
    )
    @strawberry.mutation(
        description="Fix one product's unit price on a price list; a null price removes it (the discount applies)."
    )
    async def set_price_list_price(
        self,
        info: Info,
        price_list_id: strawberry.ID,
        product_id: strawberry.ID,
        unit_price: Decimal | None = strawberry.UNSET,
    ) -> PriceListPayload:
        async def change(uow: UnitOfWork) -> catalog.PriceList:
            if unit_price is strawberry.UNSET:  # leaving it out must not silently remove a fixed price
                message = "unitPrice is required: a price, or null to remove the fixed price."
                raise ValidationFailed([FieldError("unitPrice", ErrorCode.REQUIRED, message)])
            return await catalog.set_fixed_price(
                uow,
                id_of(price_list_id, "PriceList", "priceListId"),
                id_of(product_id, "Product", "productId"),
                unit_price,
            )

        return await mutate(info, change, payload=_price_list_payload, failed=_price_list_failed)

    @strawberry.mutation(description="Pull the ERP's products and list prices now.")
    async def sync_products(self, info: Info) -> ProductSyncPayload:
        return await mutate(
            info,
            lambda uow: erp_services.pull_products(uow, ctx(info).sessions),
            payload=lambda changed: ProductSyncPayload(changed=changed, errors=[]),
            failed=lambda errors: ProductSyncPayload(changed=None, errors=errors),
        )

    @described_arguments(id="The dead outbox message.")
    @strawberry.mutation(description="Queue a dead outbox message again with a fresh set of attempts.")
    async def retry_outbox_message(self, info: Info, id: strawberry.ID) -> OutboxMessagePayload:
        return await mutate(
            info,
            lambda uow: erp_services.retry_message(uow, id_of(id, "OutboxMessage", "id")),
            payload=lambda row: OutboxMessagePayload(
                message=OutboxMessageType.from_row(row) if row else None, errors=[]
            ),
            failed=lambda errors: OutboxMessagePayload(message=None, errors=errors),
            node="OutboxMessage",
        )
