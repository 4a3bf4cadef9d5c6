"""Queries over the catalogue, quotes, orders, contracts, receivables and the ERP outbox."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from api.graphql.commerce.types import (
    CommerceSettingsType,
    ContractStatusType,
    ContractType,
    ErpStatusType,
    MessageStatusType,
    OrderStatusType,
    OrderType,
    OutboxMessageType,
    PriceListType,
    ProductType,
    QuoteType,
    ReceivablesType,
    SyncStateType,
    settings_type,
)
from api.graphql.descriptions import described_arguments
from api.graphql.errors import query_value
from api.graphql.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, optional_id_of
from api.graphql.resolving import list_connection, read
from domain.commerce import balances, catalog, contracts, orders, quotes
from domain.commerce import settings as commerce_settings
from domain.commerce.catalog import Product
from domain.commerce.contracts import Contract
from domain.commerce.orders import Order
from domain.commerce.quotes import Quote
from domain.erp import outbox as erp_outbox
from domain.erp.outbox import OutboxMessage
from domain.shared.base import utcnow
from domain.shared.pagination import SortDirection
from domain.shared.search import search_term


def _optional_id(value: strawberry.ID | None, type_name: str, field: str) -> uuid.UUID | None:
    """A filter argument's uuid; a malformed or foreign-typed id is an error naming the argument."""
    return query_value(lambda: optional_id_of(value, type_name, field))


@strawberry.type
class CommerceQueries:
    @described_arguments(
        search="Only products whose code or name contains this text.",
        active_only="Leave out products that cannot be sold now (the default).",
    )
    @strawberry.field(description="Products from the ERP, by code; 50 a page by default.")
    async def products(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        search: str | None = None,
        active_only: bool = True,
    ) -> Connection[ProductType]:
        term = query_value(lambda: search_term(search))
        return await list_connection(
            info,
            query=lambda uow: catalog.visible_products(uow, search=term, active_only=active_only),
            sort_column=Product.code,
            id_column=Product.id,
            direction=SortDirection.ASC,
            first=first,
            after=after,
            last=last,
            before=before,
            default_size=50,
            to_node=ProductType.from_row,
        )

    @strawberry.field(
        description="Partner price lists, by name: every one for internal users, and for a partner the one it "
        "buys from (its own prices show as yourPrice on products)."
    )
    async def price_lists(self, info: Info) -> list[PriceListType]:
        return [PriceListType.from_row(row) for row in await read(info, catalog.price_lists)]

    @described_arguments(
        opportunity_id="Only this opportunity's quotes.",
        latest_only="Only each quote's newest version, not the superseded ones (the default).",
    )
    @strawberry.field(description="Quotes the viewer may see (those of visible opportunities), newest first.")
    async def quotes(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        opportunity_id: strawberry.ID | None = None,
        latest_only: bool = True,
    ) -> Connection[QuoteType]:
        opportunity = _optional_id(opportunity_id, "Opportunity", "opportunityId")
        return await list_connection(
            info,
            query=lambda uow: quotes.visible_quotes(uow, opportunity_id=opportunity, latest_only=latest_only),
            sort_column=Quote.created_at,
            id_column=Quote.id,
            direction=SortDirection.DESC,
            first=first,
            after=after,
            last=last,
            before=before,
            to_node=QuoteType.from_row,
        )

    @described_arguments(
        status="Only orders in this status.",
        sync_state="Only orders in this state of delivery to the ERP.",
        account_id="Only orders for this customer account.",
        partner_id="Only this partner's own purchases.",
    )
    @strawberry.field(description="Orders the viewer may see, newest first.")
    async def orders(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        status: OrderStatusType | None = None,
        sync_state: SyncStateType | None = None,
        account_id: strawberry.ID | None = None,
        partner_id: strawberry.ID | None = None,
    ) -> Connection[OrderType]:
        account = _optional_id(account_id, "Account", "accountId")
        partner = _optional_id(partner_id, "Organization", "partnerId")
        return await list_connection(
            info,
            query=lambda uow: orders.visible_orders(
                uow, status=status, sync_state=sync_state, account_id=account, partner_id=partner
            ),
            sort_column=Order.created_at,
            id_column=Order.id,
            direction=SortDirection.DESC,
            first=first,
            after=after,
            last=last,
            before=before,
            to_node=OrderType.from_row,
        )

    @described_arguments(status="Only contracts in this status.", account_id="Only this customer account's contracts.")
    @strawberry.field(description="Contracts the viewer may see, ending soonest first.")
    async def contracts(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        status: ContractStatusType | None = None,
        account_id: strawberry.ID | None = None,
    ) -> Connection[ContractType]:
        account = _optional_id(account_id, "Account", "accountId")
        return await list_connection(
            info,
            query=lambda uow: contracts.visible_contracts(uow, status=status, account_id=account),
            sort_column=Contract.end_date,
            id_column=Contract.id,
            direction=SortDirection.ASC,
            first=first,
            after=after,
            last=last,
            before=before,
            to_node=ContractType.from_row,
        )

    @described_arguments(
        account_id="Only this customer account's orders and contracts.",
        partner_id="Only this partner's own purchases.",
        order_id="Only this order.",
        contract_id="Only this contract.",
    )
    @strawberry.field(
        description="Billed, paid, due and overdue per currency over the orders and contracts the viewer may see; "
        "narrow by account, partner (its own purchases), order or contract."
    )
    async def receivables(
        self,
        info: Info,
        account_id: strawberry.ID | None = None,
        partner_id: strawberry.ID | None = None,
        order_id: strawberry.ID | None = None,
        contract_id: strawberry.ID | None = None,
    ) -> list[ReceivablesType]:
        flt = balances.ReceivablesFilter(
            account_id=_optional_id(account_id, "Account", "accountId"),
            partner_id=_optional_id(partner_id, "Organization", "partnerId"),
            order_id=_optional_id(order_id, "Order", "orderId"),
            contract_id=_optional_id(contract_id, "Contract", "contractId"),
        )
        rows = await read(info, lambda uow: balances.visible_totals(uow, flt, utcnow().date()))
        return [ReceivablesType(row=t) for t in rows]

    @strawberry.field(description="The tenant's commerce settings (internal users).")
    async def commerce_settings(self, info: Info) -> CommerceSettingsType:
        return settings_type(await read(info, commerce_settings.read))

    @strawberry.field(description="The ERP link's health: last poll, last catalogue pull, outbox backlog.")
    async def erp_status(self, info: Info) -> ErpStatusType:
        health = await read(info, erp_outbox.erp_health)
        connection = health.connection
        return ErpStatusType(
            adapter=connection.adapter.value if connection else None,
            url=(connection.settings or {}).get("url") if connection else None,
            last_polled_at=connection.last_polled_at if connection else None,
            last_poll_error=connection.last_poll_error if connection else None,
            products_synced_at=connection.products_synced_at if connection else None,
            pending=health.pending,
            dead=health.dead,
            oldest_pending_at=health.oldest_pending_at,
        )

    @described_arguments(status="Only messages in this status, e.g. DEAD ones to retry.")
    @strawberry.field(description="ERP outbox messages (integration, finance and admin roles), newest first.")
    async def outbox_messages(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        status: MessageStatusType | None = None,
    ) -> Connection[OutboxMessageType]:
        return await list_connection(
            info,
            query=lambda uow: erp_outbox.outbox_messages(uow, status),
            sort_column=OutboxMessage.created_at,
            id_column=OutboxMessage.id,
            direction=SortDirection.DESC,
            first=first,
            after=after,
            last=last,
            before=before,
            to_node=OutboxMessageType.from_row,
        )
