"""Mutations: quotes through their life, orders (from quotes, or partner self-service), contracts, price lists,
and the ERP side: pull products now, retry a dead outbox message."""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.graphql.channel.partner_kinds import PartnerKindType, PartnerTierType, organization_kind, partner_tier
from api.graphql.commerce.types import (
    ContractType,
    OrderType,
    OutboxMessageType,
    PriceListType,
    QuoteType,
)
from api.graphql.descriptions import described_arguments
from api.graphql.errors import UserError, run_mutation
from api.graphql.idempotency import KEY_DESCRIPTION, create_once, idempotency_key_field
from api.graphql.record_versions import EXPECTED_EDIT_VERSION_DESCRIPTION, EXPECTED_VERSION_DESCRIPTION
from api.graphql.relay import id_of, optional_id_of
from api.graphql.resolving import ctx, mutate_visible
from domain.access.actor import Action, Resource
from domain.commerce import contracts, orders, quotes
from domain.commerce import settings as commerce_settings
from domain.commerce.catalog import set_fixed_price, set_price_list
from domain.commerce.quotes import LineInput
from domain.erp.outbox import MessageStatus, OutboxMessage, SyncState, requeue
from domain.shared.errors import Conflict, ErrorCode, FieldError, Forbidden, NotFound, ValidationFailed
from infrastructure.db import transaction
from integrations.erp.port import ErpError
from integrations.erp.sync import refresh_credit, sync_products


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


@strawberry.type(name="CommerceSettings", description="A tenant's commerce settings.")
class CommerceSettingsType:
    quote_approval_discount_percent: Decimal = strawberry.field(
        description="A quote line discount above this percentage needs approval."
    )
    payment_terms_days: int = strawberry.field(description="Days from an order to its payment being due.")
    contract_renewal_days: int = strawberry.field(description="Days before a contract's end its renewal is opened.")


@strawberry.input(description="Commerce settings to change; null leaves one as it is.")
class CommerceSettingsInput:
    quote_approval_discount_percent: Decimal | None = strawberry.field(default=None, description="0 to 100.")
    payment_terms_days: int | None = strawberry.field(default=None, description="0 to 365.")
    contract_renewal_days: int | None = strawberry.field(default=None, description="1 to 730.")


@strawberry.type(description="The result of changing commerce settings.")
class CommerceSettingsPayload:
    settings: CommerceSettingsType | None = strawberry.field(description="The settings now; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def settings_type(row: commerce_settings.CommerceSettings) -> CommerceSettingsType:
    return CommerceSettingsType(
        quote_approval_discount_percent=row.quote_approval_discount_percent,
        payment_terms_days=row.payment_terms_days,
        contract_renewal_days=row.contract_renewal_days,
    )


@strawberry.type(description="The result of pulling the ERP's products.")
class ProductSyncPayload:
    changed: int | None = strawberry.field(description="How many products were added, changed or retired.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type(description="The result of retrying an outbox message.")
class OutboxMessagePayload:
    message: OutboxMessageType | None = strawberry.field(description="The message, queued again; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def _quote_payload(row: Any) -> QuotePayload:
    return QuotePayload(quote=QuoteType.from_row(row) if row else None, errors=[])


def _quote_failed(errors: list[UserError]) -> QuotePayload:
    return QuotePayload(quote=None, errors=errors)


def _order_payload(row: Any) -> OrderPayload:
    return OrderPayload(order=OrderType.from_row(row) if row else None, errors=[])


def _order_failed(errors: list[UserError]) -> OrderPayload:
    return OrderPayload(order=None, errors=errors)


def _contract_payload(row: Any) -> ContractPayload:
    return ContractPayload(contract=ContractType.from_row(row) if row else None, errors=[])


def _contract_failed(errors: list[UserError]) -> ContractPayload:
    return ContractPayload(contract=None, errors=errors)


def _quote(info: Info, change: Callable[[AsyncSession], Awaitable[Any]]) -> Awaitable[QuotePayload]:
    return mutate_visible(info, change, "Quote", _quote_payload, _quote_failed)  # type: ignore[no-any-return]


def _order(info: Info, change: Callable[[AsyncSession], Awaitable[Any]]) -> Awaitable[OrderPayload]:
    return mutate_visible(info, change, "Order", _order_payload, _order_failed)  # type: ignore[no-any-return]


def _contract(info: Info, change: Callable[[AsyncSession], Awaitable[Any]]) -> Awaitable[ContractPayload]:
    return mutate_visible(info, change, "Contract", _contract_payload, _contract_failed)  # type: ignore[no-any-return]


def _qid(value: strawberry.ID):  # type: ignore[no-untyped-def]
    return id_of(value, "Quote", "id")


def _cid(value: strawberry.ID):  # type: ignore[no-untyped-def]
    return id_of(value, "Contract", "id")


@strawberry.type
class CommerceMutations:
    @strawberry.mutation(description="Draft a quote, priced for the buyer (a partner's price list, else list price).")
    async def create_quote(self, info: Info, input: CreateQuoteInput) -> QuotePayload:
        async def change(session: AsyncSession) -> Any:
            opportunity = id_of(input.opportunity_id, "Opportunity", "opportunityId")
            lines = _lines(input.lines) or []
            return await quotes.create_quote(
                session, ctx(info).access, opportunity, lines, valid_until=input.valid_until
            )

        return await create_once(
            info, change, "Quote", _quote_payload, _quote_failed, key=input.idempotency_key, request=input
        )

    @strawberry.mutation(description="Make a new draft version; the old one is superseded.")
    async def revise_quote(self, info: Info, input: ReviseQuoteInput) -> QuotePayload:
        return await _quote(
            info, lambda s: quotes.revise_quote(
                s, ctx(info).access, _qid(input.id), _lines(input.lines), expected_version=input.expected_edit_version
            ),
        )  # fmt: skip

    @described_arguments(id="The draft quote.", expected_edit_version=EXPECTED_EDIT_VERSION_DESCRIPTION)
    @strawberry.mutation(
        description="Submit a draft: approved at once, or pending approval above the discount threshold."
    )
    async def submit_quote(
        self, info: Info, id: strawberry.ID, expected_edit_version: int | None = None
    ) -> QuotePayload:
        return await _quote(
            info, lambda s: quotes.submit_quote(s, ctx(info).access, _qid(id), expected_version=expected_edit_version)
        )

    @described_arguments(id="The quote pending approval.", expected_edit_version=EXPECTED_EDIT_VERSION_DESCRIPTION)
    @strawberry.mutation(description="Approve a quote's discount (managers of its territory, directors).")
    async def approve_quote(
        self, info: Info, id: strawberry.ID, expected_edit_version: int | None = None
    ) -> QuotePayload:
        return await _quote(info, lambda s: quotes.decide_quote(
            s, ctx(info).access, _qid(id), approve=True, expected_version=expected_edit_version))  # fmt: skip

    @described_arguments(id="The quote pending approval.", expected_edit_version=EXPECTED_EDIT_VERSION_DESCRIPTION)
    @strawberry.mutation(description="Reject a quote's discount; revise it to try again.")
    async def reject_quote(
        self, info: Info, id: strawberry.ID, expected_edit_version: int | None = None
    ) -> QuotePayload:
        return await _quote(info, lambda s: quotes.decide_quote(
            s, ctx(info).access, _qid(id), approve=False, expected_version=expected_edit_version))  # fmt: skip

    @described_arguments(id="The approved quote.", expected_edit_version=EXPECTED_EDIT_VERSION_DESCRIPTION)
    @strawberry.mutation(description="Mark an approved quote as sent to the customer.")
    async def send_quote(self, info: Info, id: strawberry.ID, expected_edit_version: int | None = None) -> QuotePayload:
        return await _quote(
            info, lambda s: quotes.send_quote(s, ctx(info).access, _qid(id), expected_version=expected_edit_version)
        )

    @described_arguments(id="The sent quote.", expected_edit_version=EXPECTED_EDIT_VERSION_DESCRIPTION)
    @strawberry.mutation(description="Record the customer's acceptance of a sent quote.")
    async def accept_quote(
        self, info: Info, id: strawberry.ID, expected_edit_version: int | None = None
    ) -> QuotePayload:
        return await _quote(
            info, lambda s: quotes.accept_quote(s, ctx(info).access, _qid(id), expected_version=expected_edit_version)
        )

    @described_arguments(quote_id="The accepted quote of a won opportunity.", idempotency_key=KEY_DESCRIPTION)
    @strawberry.mutation(description="Turn the accepted quote of a won opportunity into an order (queued for the ERP).")
    async def create_order_from_quote(
        self, info: Info, quote_id: strawberry.ID, idempotency_key: str | None = None
    ) -> OrderPayload:
        return await create_once(
            info, lambda s: orders.order_from_quote(s, ctx(info).access, id_of(quote_id, "Quote", "quoteId")),
            "Order", _order_payload, _order_failed, key=idempotency_key, request={"quoteId": quote_id},
        )  # fmt: skip

    @strawberry.mutation(
        description="A partner orders for a customer or its stock, at its price list's prices, within its credit "
        "limit (asked of the ERP now; the last known standing when the ERP does not answer)."
    )
    async def place_partner_order(self, info: Info, input: PlacePartnerOrderInput) -> OrderPayload:
        actor = ctx(info).access.actor
        if actor.is_partner and actor.organization_id is not None:
            await refresh_credit(ctx(info).sessions, actor.tenant_id, str(actor.organization_id))

        async def change(session: AsyncSession) -> Any:
            account = optional_id_of(input.account_id, "Account", "accountId")
            return await orders.place_partner_order(
                session, ctx(info).access, _lines(input.lines) or [], account_id=account
            )

        return await create_once(
            info, change, "Order", _order_payload, _order_failed, key=input.idempotency_key, request=input
        )

    @described_arguments(
        id="The order, not yet received by the ERP.", reason="Why it is cancelled (kept in the audit trail).",
    )  # fmt: skip
    @strawberry.mutation(
        description="Cancel an order the ERP has not received yet, with a reason; once the ERP has it, cancel it "
        "there and the CRM follows."
    )
    async def cancel_order(self, info: Info, id: strawberry.ID, reason: str) -> OrderPayload:
        return await _order(info, lambda s: orders.cancel_order(s, ctx(info).access, id_of(id, "Order", "id"), reason))

    @strawberry.mutation(description="Draft a contract from a won opportunity's accepted quote, or from an order.")
    async def create_contract(self, info: Info, input: CreateContractInput) -> ContractPayload:
        async def change(session: AsyncSession) -> Any:
            return await contracts.create_contract(
                session, ctx(info).access,
                opportunity_id=optional_id_of(input.opportunity_id, "Opportunity", "opportunityId"),
                order_id=optional_id_of(input.order_id, "Order", "orderId"),
                start_date=input.start_date, term_months=input.term_months,
                product_ids=None if input.product_ids is None else [
                    id_of(p, "Product", f"productIds[{i}]") for i, p in enumerate(input.product_ids)
                ],
            )  # fmt: skip

        return await create_once(
            info, change, "Contract", _contract_payload, _contract_failed, key=input.idempotency_key, request=input
        )

    @described_arguments(id="The draft contract.", expected_version=EXPECTED_VERSION_DESCRIPTION)
    @strawberry.mutation(description="Send a draft contract for approval.")
    async def submit_contract(
        self, info: Info, id: strawberry.ID, expected_version: int | None = None
    ) -> ContractPayload:
        return await _contract(
            info, lambda s: contracts.submit_contract(s, ctx(info).access, _cid(id), expected_version=expected_version)
        )

    @described_arguments(id="The contract in approval.", expected_version=EXPECTED_VERSION_DESCRIPTION)
    @strawberry.mutation(
        description="Approve: the contract turns active, gets its payment plan and is queued for the ERP."
    )
    async def approve_contract(
        self, info: Info, id: strawberry.ID, expected_version: int | None = None
    ) -> ContractPayload:
        return await _contract(info, lambda s: contracts.decide_contract(
            s, ctx(info).access, _cid(id), approve=True, expected_version=expected_version))  # fmt: skip

    @described_arguments(id="The contract in approval.", expected_version=EXPECTED_VERSION_DESCRIPTION)
    @strawberry.mutation(description="Send a contract in approval back to draft.")
    async def reject_contract(
        self, info: Info, id: strawberry.ID, expected_version: int | None = None
    ) -> ContractPayload:
        return await _contract(info, lambda s: contracts.decide_contract(
            s, ctx(info).access, _cid(id), approve=False, expected_version=expected_version))  # fmt: skip

    @described_arguments(
        id="The active contract.", reason="Why it ends (kept in the audit trail).",
        effective_date="The day it ends; today when left out.", expected_version=EXPECTED_VERSION_DESCRIPTION,
    )  # fmt: skip
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
        return await _contract(info, lambda s: contracts.terminate_contract(
            s, ctx(info).access, _cid(id), reason, effective_date, expected_version=expected_version))  # fmt: skip

    @strawberry.mutation(description="Create or change the price list of a partner kind and/or tier.")
    async def set_price_list(self, info: Info, input: SetPriceListInput) -> PriceListPayload:
        async def perform() -> PriceListPayload:
            async with transaction(ctx(info).sessions) as session:
                row = await set_price_list(
                    session, ctx(info).access, name=input.name, partner_kind=organization_kind(input.partner_kind),
                    partner_tier=partner_tier(input.partner_tier), discount_percent=input.discount_percent,
                )  # fmt: skip
            return PriceListPayload(price_list=PriceListType(row=row), errors=[])

        return await run_mutation(perform, lambda errors: PriceListPayload(price_list=None, errors=errors))

    @strawberry.mutation(description="Change the tenant's commerce settings (admins).")
    async def set_commerce_settings(self, info: Info, input: CommerceSettingsInput) -> CommerceSettingsPayload:
        async def perform() -> CommerceSettingsPayload:
            async with transaction(ctx(info).sessions) as session:
                row = await commerce_settings.change(
                    session, ctx(info).access, quote_approval_discount_percent=input.quote_approval_discount_percent,
                    payment_terms_days=input.payment_terms_days, contract_renewal_days=input.contract_renewal_days,
                )  # fmt: skip
            return CommerceSettingsPayload(settings=settings_type(row), errors=[])

        return await run_mutation(perform, lambda errors: CommerceSettingsPayload(settings=None, errors=errors))

    @described_arguments(
        price_list_id="The price list.", product_id="The product.",
        unit_price="The fixed unit price, in the product's currency; null removes it (the discount applies).",
    )  # fmt: skip
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
        async def perform() -> PriceListPayload:
            if unit_price is strawberry.UNSET:  # leaving it out must not silently remove a fixed price
                message = "unitPrice is required: a price, or null to remove the fixed price."
                raise ValidationFailed([FieldError("unitPrice", ErrorCode.REQUIRED, message)])
            async with transaction(ctx(info).sessions) as session:
                row = await set_fixed_price(
                    session, ctx(info).access, id_of(price_list_id, "PriceList", "priceListId"),
                    id_of(product_id, "Product", "productId"), unit_price,
                )  # fmt: skip
            return PriceListPayload(price_list=PriceListType(row=row), errors=[])

        return await run_mutation(perform, lambda errors: PriceListPayload(price_list=None, errors=errors))

    @strawberry.mutation(description="Pull the ERP's products and list prices now.")
    async def sync_products(self, info: Info) -> ProductSyncPayload:
        access = ctx(info).access

        async def perform() -> ProductSyncPayload:
            if not access.can(Resource.PRODUCT, Action.UPDATE):
                raise Forbidden("Your role may not sync the catalogue.")
            try:
                changed = await sync_products(ctx(info).sessions, access.actor.tenant_id)
            except ErpError as exc:
                raise Conflict(f"The ERP did not answer: {exc}") from exc
            return ProductSyncPayload(changed=changed, errors=[])

        return await run_mutation(perform, lambda errors: ProductSyncPayload(changed=None, errors=errors))

    @described_arguments(id="The dead outbox message.")
    @strawberry.mutation(description="Queue a dead outbox message again with a fresh set of attempts.")
    async def retry_outbox_message(self, info: Info, id: strawberry.ID) -> OutboxMessagePayload:
        access = ctx(info).access

        async def perform() -> OutboxMessagePayload:
            if not access.can(Resource.ERP_SYNC, Action.UPDATE):
                raise Forbidden("Your role may not retry ERP deliveries.")
            message_id = id_of(id, "OutboxMessage", "id")
            async with transaction(ctx(info).sessions) as session:
                message = (
                    await session.execute(
                        select(OutboxMessage)
                        .where(access.rows(Resource.ERP_SYNC), OutboxMessage.id == message_id)
                        .with_for_update()
                    )
                ).scalar_one_or_none()
                if message is None:
                    raise NotFound("No outbox message with that id.", field="id")
                if message.status is not MessageStatus.DEAD:
                    raise Conflict(f"The message is {message.status.value}; only a dead one is retried.", field="id")
                await requeue(session, message)
                model = orders.Order if message.kind.value == "order" else contracts.Contract
                record = await session.get(model, (message.tenant_id, message.record_id))
                if record is not None:
                    record.sync_state = SyncState.PENDING
            return OutboxMessagePayload(message=OutboxMessageType(row=message), errors=[])

        return await run_mutation(perform, lambda errors: OutboxMessagePayload(message=None, errors=errors))
