"""Queries over the catalogue, quotes, orders, contracts, receivables and the ERP outbox."""

from __future__ import annotations

import strawberry
from sqlalchemy import func, select
from strawberry.types import Info

from api.graphql.commerce.mutations import CommerceSettingsType
from api.graphql.commerce.types import (
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
)
from api.graphql.descriptions import described_arguments
from api.graphql.errors import AccessDenied, query_value, run_query
from api.graphql.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, optional_id_of
from api.graphql.resolving import ctx, list_connection
from domain.access.actor import Action, Resource
from domain.commerce import receivables
from domain.commerce.catalog import PriceList, Product
from domain.commerce.contracts import Contract
from domain.commerce.orders import Order
from domain.commerce.quotes import Quote, QuoteStatus
from domain.erp.outbox import ErpConnection, MessageStatus, OutboxMessage
from domain.shared.base import utcnow
from domain.shared.pagination import SortDirection
from domain.shared.search import contains_any, search_term


def _optional_id(value: strawberry.ID | None, type_name: str, field: str):  # type: ignore[no-untyped-def]
    """A filter argument's uuid; a malformed or foreign-typed id is an error naming the argument."""
    return query_value(lambda: optional_id_of(value, type_name, field))


@strawberry.type
class CommerceQueries:
    @described_arguments(
        search="Only products whose code or name contains this text.",
        active_only="Leave out products that cannot be sold now (the default).",
    )  # fmt: skip
    @strawberry.field(description="Products from the ERP, by code; 50 a page by default.")
    async def products(
        self, info: Info, first: FirstArg = None, after: AfterArg = None, last: LastArg = None,
        before: BeforeArg = None, search: str | None = None, active_only: bool = True,
    ) -> Connection[ProductType]:  # fmt: skip
        stmt = select(Product).where(ctx(info).access.rows(Resource.PRODUCT))
        if active_only:
            stmt = stmt.where(Product.active.is_(True))
        if term := query_value(lambda: search_term(search)):
            stmt = stmt.where(contains_any(term, Product.code, Product.name))
        return await list_connection(
            info, query=stmt, sort_column=Product.code, id_column=Product.id, direction=SortDirection.ASC,
            first=first, after=after, last=last, before=before, default_size=50, to_node=ProductType.from_row,
        )  # fmt: skip

    @strawberry.field(description="Partner price lists (internal users).")
    async def price_lists(self, info: Info) -> list[PriceListType]:
        access = ctx(info).access
        if access.actor.is_partner or not access.can(Resource.PRODUCT, Action.READ):
            raise AccessDenied("Price lists are internal; partners see their own prices as yourPrice.")

        async def fetch() -> list[PriceListType]:
            async with ctx(info).sessions() as session:
                rows = await session.execute(
                    select(PriceList).where(PriceList.tenant_id == access.actor.tenant_id).order_by(PriceList.name)
                )
                return [PriceListType(row=r) for r in rows.scalars()]

        return await run_query(fetch)  # type: ignore[no-any-return]

    @described_arguments(
        opportunity_id="Only this opportunity's quotes.",
        latest_only="Only each quote's newest version, not the superseded ones (the default).",
    )  # fmt: skip
    @strawberry.field(description="Quotes the viewer may see (those of visible opportunities), newest first.")
    async def quotes(
        self, info: Info, first: FirstArg = None, after: AfterArg = None, last: LastArg = None,
        before: BeforeArg = None, opportunity_id: strawberry.ID | None = None,
        latest_only: bool = True,
    ) -> Connection[QuoteType]:  # fmt: skip
        stmt = select(Quote).where(ctx(info).access.rows(Resource.QUOTE))
        opportunity = _optional_id(opportunity_id, "Opportunity", "opportunityId")
        if opportunity is not None:
            stmt = stmt.where(Quote.opportunity_id == opportunity)
        if latest_only:  # every version but the newest is superseded
            stmt = stmt.where(Quote.status != QuoteStatus.SUPERSEDED)
        return await list_connection(
            info, query=stmt, sort_column=Quote.created_at, id_column=Quote.id, direction=SortDirection.DESC,
            first=first, after=after, last=last, before=before, to_node=QuoteType.from_row,
        )  # fmt: skip

    @described_arguments(
        status="Only orders in this status.", sync_state="Only orders in this state of delivery to the ERP.",
        account_id="Only orders for this customer account.", partner_id="Only this partner's own purchases.",
    )  # fmt: skip
    @strawberry.field(description="Orders the viewer may see, newest first.")
    async def orders(
        self, info: Info, first: FirstArg = None, after: AfterArg = None, last: LastArg = None,
        before: BeforeArg = None,
        status: OrderStatusType | None = None,  # type: ignore[valid-type]
        sync_state: SyncStateType | None = None,  # type: ignore[valid-type]
        account_id: strawberry.ID | None = None, partner_id: strawberry.ID | None = None,
    ) -> Connection[OrderType]:  # fmt: skip
        stmt = select(Order).where(ctx(info).access.rows(Resource.ORDER))
        if status is not None:
            stmt = stmt.where(Order.status == status)
        if sync_state is not None:
            stmt = stmt.where(Order.sync_state == sync_state)
        if (account := _optional_id(account_id, "Account", "accountId")) is not None:
            stmt = stmt.where(Order.account_id == account)
        if (partner := _optional_id(partner_id, "Organization", "partnerId")) is not None:
            stmt = stmt.where(Order.partner_organization_id == partner)
        return await list_connection(
            info, query=stmt, sort_column=Order.created_at, id_column=Order.id, direction=SortDirection.DESC,
            first=first, after=after, last=last, before=before, to_node=OrderType.from_row,
        )  # fmt: skip

    @described_arguments(status="Only contracts in this status.", account_id="Only this customer account's contracts.")
    @strawberry.field(description="Contracts the viewer may see, ending soonest first.")
    async def contracts(
        self, info: Info, first: FirstArg = None, after: AfterArg = None, last: LastArg = None,
        before: BeforeArg = None,
        status: ContractStatusType | None = None,  # type: ignore[valid-type]
        account_id: strawberry.ID | None = None,
    ) -> Connection[ContractType]:  # fmt: skip
        stmt = select(Contract).where(ctx(info).access.rows(Resource.CONTRACT))
        if status is not None:
            stmt = stmt.where(Contract.status == status)
        if (account := _optional_id(account_id, "Account", "accountId")) is not None:
            stmt = stmt.where(Contract.account_id == account)
        return await list_connection(
            info, query=stmt, sort_column=Contract.end_date, id_column=Contract.id, direction=SortDirection.ASC,
            first=first, after=after, last=last, before=before, to_node=ContractType.from_row,
        )  # fmt: skip

    @described_arguments(
        account_id="Only this customer account's orders and contracts.",
        partner_id="Only this partner's own purchases.", order_id="Only this order.",
        contract_id="Only this contract.",
    )  # fmt: skip
    @strawberry.field(
        description="Billed, paid, due and overdue per currency over the orders and contracts the viewer may see; "
        "narrow by account, partner (its own purchases), order or contract."
    )
    async def receivables(
        self, info: Info, account_id: strawberry.ID | None = None, partner_id: strawberry.ID | None = None,
        order_id: strawberry.ID | None = None, contract_id: strawberry.ID | None = None,
    ) -> list[ReceivablesType]:  # fmt: skip
        flt = receivables.ReceivablesFilter(
            account_id=_optional_id(account_id, "Account", "accountId"),
            partner_id=_optional_id(partner_id, "Organization", "partnerId"),
            order_id=_optional_id(order_id, "Order", "orderId"),
            contract_id=_optional_id(contract_id, "Contract", "contractId"),
        )

        async def fetch() -> list[ReceivablesType]:
            async with ctx(info).sessions() as session:
                rows = await receivables.visible_totals(session, ctx(info).access, flt, utcnow().date())
            return [ReceivablesType(row=t) for t in rows]

        return await run_query(fetch)  # type: ignore[no-any-return]

    @strawberry.field(description="The tenant's commerce settings (internal users).")
    async def commerce_settings(self, info: Info) -> CommerceSettingsType:
        from api.graphql.commerce.mutations import settings_type
        from domain.commerce import settings as commerce_settings

        if ctx(info).access.actor.is_partner:
            raise AccessDenied("Commerce settings are internal.")

        async def fetch() -> CommerceSettingsType:
            async with ctx(info).sessions() as session:
                return settings_type(await commerce_settings.read(session, ctx(info).access))

        return await run_query(fetch)  # type: ignore[no-any-return]

    @strawberry.field(description="The ERP link's health: last poll, last catalogue pull, outbox backlog.")
    async def erp_status(self, info: Info) -> ErpStatusType:
        access = ctx(info).access
        if not access.can(Resource.ERP_SYNC, Action.READ):
            raise AccessDenied("Your role may not read the ERP link's status.")

        async def fetch() -> ErpStatusType:
            async with ctx(info).sessions() as session:
                connection = await session.get(ErpConnection, access.actor.tenant_id)
                counts = dict(
                    (
                        await session.execute(
                            select(OutboxMessage.status, func.count())
                            .where(access.rows(Resource.ERP_SYNC))
                            .group_by(OutboxMessage.status)
                        )
                    ).all()
                )
                oldest = (
                    await session.execute(
                        select(func.min(OutboxMessage.created_at)).where(
                            access.rows(Resource.ERP_SYNC), OutboxMessage.status == MessageStatus.PENDING
                        )
                    )
                ).scalar_one()
            return ErpStatusType(
                adapter=connection.adapter.value if connection else None,
                url=(connection.settings or {}).get("url") if connection else None,
                last_polled_at=connection.last_polled_at if connection else None,
                last_poll_error=connection.last_poll_error if connection else None,
                products_synced_at=connection.products_synced_at if connection else None,
                pending=counts.get(MessageStatus.PENDING, 0), dead=counts.get(MessageStatus.DEAD, 0),
                oldest_pending_at=oldest,
            )  # fmt: skip

        return await run_query(fetch)  # type: ignore[no-any-return]

    @described_arguments(status="Only messages in this status, e.g. DEAD ones to retry.")
    @strawberry.field(description="ERP outbox messages (integration, finance and admin roles), newest first.")
    async def outbox_messages(
        self, info: Info, first: FirstArg = None, after: AfterArg = None, last: LastArg = None,
        before: BeforeArg = None,
        status: MessageStatusType | None = None,  # type: ignore[valid-type]
    ) -> Connection[OutboxMessageType]:  # fmt: skip
        access = ctx(info).access
        if not access.can(Resource.ERP_SYNC, Action.READ):
            raise AccessDenied("Your role may not read the ERP outbox.")
        stmt = select(OutboxMessage).where(access.rows(Resource.ERP_SYNC))
        if status is not None:
            stmt = stmt.where(OutboxMessage.status == status)
        return await list_connection(
            info, query=stmt, sort_column=OutboxMessage.created_at, id_column=OutboxMessage.id,
            direction=SortDirection.DESC, first=first, after=after,
            last=last, before=before, to_node=lambda r: OutboxMessageType(row=r),
        )  # fmt: skip
