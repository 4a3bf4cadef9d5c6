"""Set-up shared by the commerce and ERP tests: a catalogue, partner price lists, won deals, an ERP connection."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.channel.organizations import OrganizationKind, PartnerTier
from domain.commerce.catalog import CatalogEntry, PriceList, upsert_products
from domain.erp.outbox import ErpAdapterKind, ErpConnection
from domain.selling.opportunities import Opportunity
from domain.selling.stages import Stage
from tests.integration.graphql_client import Caller, gid
from tests.reads import read_for_test

CATALOGUE = [
    CatalogEntry("HW-100", "Gateway", Decimal("1000.00"), "USD", True, "1"),
    CatalogEntry("SVC-200", "Support plan", Decimal("200.00"), "USD", True, "2"),
]

# (kind, tier, discount): distributors buy cheaper than dealers; silver dealers have their own list.
PRICE_LISTS = [
    (OrganizationKind.DISTRIBUTOR, None, Decimal("30")),
    (OrganizationKind.DEALER, None, Decimal("20")),
    (OrganizationKind.DEALER, PartnerTier.SILVER, Decimal("25")),
]


async def stock_catalogue(sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """The ERP's products as a sync would bring them, and the partner price lists; product ids by code."""
    from sqlalchemy import select

    from domain.commerce.catalog import Product

    async with sessions() as session, session.begin():
        await upsert_products(session, tenant_id, CATALOGUE)
        for kind, tier, discount in PRICE_LISTS:
            session.add(
                PriceList(
                    tenant_id=tenant_id, id=uuid.uuid4(), name=f"{kind} {tier}", partner_kind=kind,
                    partner_tier=tier, discount_percent=discount,
                )
            )  # fmt: skip
        rows = await session.execute(
            read_for_test(select(Product.code, Product.id).where(Product.tenant_id == tenant_id))
        )
        return dict(rows.all())  # type: ignore[arg-type]


async def win(sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, opportunity_id: uuid.UUID) -> None:
    """Close the deal as won (the stage path itself is tested elsewhere)."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(Opportunity)
            .where(Opportunity.tenant_id == tenant_id, Opportunity.id == opportunity_id)
            .values(stage=Stage.CLOSED_WON, probability=100)
        )


async def connect_erp(
    sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, adapter: ErpAdapterKind,
    settings: dict[str, Any], secret: str | None = None,
) -> None:  # fmt: skip
    async with sessions() as session, session.begin():
        session.add(ErpConnection(tenant_id=tenant_id, adapter=adapter, settings=settings, webhook_secret=secret))


QUOTE_FIELDS = "id number version status total { amount currency } maxDiscountPercent lines { unitPrice { amount } netAmount { amount } }"
ORDER_FIELDS = "id number status total { amount currency } paid { amount } invoiceState shipmentState sync { state erpId erpState error }"


async def quote_to_order(
    caller: Caller, opportunity_gid: str, lines: list[dict[str, Any]], *, approver: Caller | None = None
) -> dict[str, Any]:
    """Create, submit (approve when needed), send, accept a quote; then order it. Returns the order."""
    created = await caller.data(
        f"mutation($i: CreateQuoteInput!) {{ createQuote(input: $i) {{ quote {{ {QUOTE_FIELDS} }} errors {{ field code message }} }} }}",
        i={"opportunityId": opportunity_gid, "lines": lines},
    )
    assert not created["createQuote"]["errors"], created
    qid = created["createQuote"]["quote"]["id"]
    submitted = await caller.data(
        "mutation($id: ID!) { submitQuote(id: $id) { quote { status } errors { code message } } }", id=qid
    )
    if submitted["submitQuote"]["quote"]["status"] == "PENDING_APPROVAL":
        assert approver is not None
        await approver.data(
            "mutation($id: ID!) { approveQuote(id: $id) { quote { status } errors { message } } }", id=qid
        )
    for step in ("sendQuote", "acceptQuote"):
        done = await caller.data(
            f"mutation($id: ID!) {{ {step}(id: $id) {{ quote {{ status }} errors {{ message }} }} }}", id=qid
        )
        assert not done[step]["errors"], done
    ordered = await caller.data(
        f"mutation($q: ID!) {{ createOrderFromQuote(quoteId: $q) {{ order {{ {ORDER_FIELDS} }} errors {{ field code message }} }} }}",
        q=qid,
    )
    assert not ordered["createOrderFromQuote"]["errors"], ordered
    return ordered["createOrderFromQuote"]["order"]  # type: ignore[no-any-return]


def line(products: dict[str, uuid.UUID], code: str, quantity: str, discount: str = "0") -> dict[str, Any]:
    return {"productId": gid("Product", products[code]), "quantity": quantity, "discountPercent": discount}
