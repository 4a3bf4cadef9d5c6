"""Products and prices: the ERP is their master; partner price lists say what each kind of partner pays.

Products arrive from the ERP (`upsert_products`). A price list gives a partner kind and/or tier
a discount off list price, and may fix a price for single products; the most specific list that
matches an organization wins (kind and tier, then kind, then tier). Customers without a partner
pay list price. Internal people see every price list; a partner sees the one it buys from.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    CHAR,
    Boolean,
    ColumnElement,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Numeric,
    Select,
    String,
    UniqueConstraint,
    Uuid,
    and_,
    case,
    false,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, aliased, mapped_column

from domain.access.actor import Access, Action, Resource
from domain.access.unit_of_work import Protected, UnitOfWork, system_unit_of_work
from domain.audit import trail as audit_log
from domain.channel.organizations import Organization, OrganizationKind, PartnerTier
from domain.shared.base import Base, TenantScoped, Timestamped, utcnow
from domain.shared.errors import ErrorCode, Forbidden, Validator
from domain.shared.money import check_amount
from domain.shared.search import contains_any

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class Product(Protected, TenantScoped, Timestamped, Base):
    """A saleable product as the ERP lists it."""

    __resource__ = Resource.PRODUCT

    __tablename__ = "product"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "code"),
    )

    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    list_price: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(CHAR(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    erp_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PriceList(TenantScoped, Timestamped, Base):
    """What a kind and/or tier of partner pays: a discount off list price."""

    __tablename__ = "price_list"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "partner_kind", "partner_tier"),
    )

    name: Mapped[str] = mapped_column(String(200))
    partner_kind: Mapped[OrganizationKind | None] = mapped_column(
        Enum(OrganizationKind, name="organization_kind", create_type=False), nullable=True
    )
    partner_tier: Mapped[PartnerTier | None] = mapped_column(
        Enum(PartnerTier, name="partner_tier", create_type=False), nullable=True
    )
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))


class PriceListItem(TenantScoped, Base):
    """A fixed price for one product on one price list (overrides the list's discount)."""

    __tablename__ = "price_list_item"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "price_list_id"], ["price_list.tenant_id", "price_list.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["product.tenant_id", "product.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "price_list_id", "product_id"),
    )

    price_list_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 2))


@dataclass(frozen=True)
class CatalogEntry:
    """A product as the ERP reports it."""

    code: str
    name: str
    list_price: Decimal
    currency: str
    active: bool = True
    erp_id: str | None = None


async def upsert_products(session: AsyncSession, tenant_id: uuid.UUID, entries: Iterable[CatalogEntry]) -> int:
    """Bring the tenant's catalogue in line with the ERP's; products the ERP no longer lists turn inactive.

    The ERP is the catalogue's master, so this is a system job over the tenant's whole catalogue.
    """
    catalogue = system_unit_of_work(session, tenant_id, "ERP catalogue sync")
    existing = {p.code: p for p in (await session.execute(catalogue.visible(Product, Action.UPDATE))).scalars()}
    now = utcnow()
    seen: set[str] = set()
    changed = 0
    for entry in entries:
        seen.add(entry.code)
        product = existing.get(entry.code)
        values = {
            "name": entry.name,
            "list_price": to_cents(entry.list_price),
            "currency": entry.currency,
            "active": entry.active,
            "erp_id": entry.erp_id,
        }
        if product is None:
            session.add(Product(tenant_id=tenant_id, id=uuid.uuid4(), code=entry.code, synced_at=now, **values))
            changed += 1
            continue
        if any(getattr(product, k) != v for k, v in values.items()):
            changed += 1
        for key, value in values.items():
            setattr(product, key, value)
        product.synced_at = now
    for code, product in existing.items():
        if code not in seen and product.active:
            product.active = False
            changed += 1
    await session.flush()
    return changed


def visible_products(uow: UnitOfWork, *, search: str | None = None, active_only: bool = True) -> Select[Any]:
    """The products the actor may see, optionally only those that can be sold now and matching a search term."""
    stmt = uow.visible(Product)
    if active_only:
        stmt = stmt.where(Product.active.is_(True))
    if search:
        stmt = stmt.where(contains_any(search, Product.code, Product.name))
    return stmt


def _specificity(price_list: PriceList, org: Organization) -> int | None:
    """How well a list fits an organization (higher is better); None when it does not apply."""
    if price_list.partner_kind is not None and price_list.partner_kind != org.kind:
        return None
    if price_list.partner_tier is not None and price_list.partner_tier != org.tier:
        return None
    return (2 if price_list.partner_kind is not None else 0) + (1 if price_list.partner_tier is not None else 0)


async def price_list_for(session: AsyncSession, tenant_id: uuid.UUID, org: Organization | None) -> PriceList | None:
    """The most specific price list for a partner organization; None for direct customers."""
    if org is None or org.kind is OrganizationKind.ENTERPRISE:
        return None
    lists = (
        (await session.execute(select(PriceList).where(PriceList.tenant_id == tenant_id).order_by(PriceList.id)))
        .scalars()
        .all()
    )
    ranked = [(score, pl) for pl in lists if (score := _specificity(pl, org)) is not None]
    if not ranked:
        return None
    return max(ranked, key=lambda pair: pair[0])[1]


def price_list_rows(access: Access) -> ColumnElement[bool]:
    """The price lists the actor may read: every one of the tenant's for internal people whose role reads the
    catalogue, and for a partner only the list it buys from (the one `price_list_for` picks for it)."""
    actor = access.actor
    if not access.can(Resource.PRODUCT, Action.READ):
        return false()
    tenant = PriceList.tenant_id == actor.tenant_id
    if not actor.is_partner:
        return tenant
    if actor.organization_id is None:
        return false()
    candidate = aliased(PriceList)
    buyer = (
        select(Organization.kind, Organization.tier)
        .where(Organization.tenant_id == actor.tenant_id, Organization.id == actor.organization_id)
        .subquery()
    )
    specificity = case((candidate.partner_kind.is_not(None), 2), else_=0) + case(
        (candidate.partner_tier.is_not(None), 1), else_=0
    )
    own = (
        select(candidate.id)
        .where(
            candidate.tenant_id == actor.tenant_id,
            buyer.c.kind != OrganizationKind.ENTERPRISE,
            or_(candidate.partner_kind.is_(None), candidate.partner_kind == buyer.c.kind),
            or_(candidate.partner_tier.is_(None), candidate.partner_tier == buyer.c.tier),
        )
        # The choice price_list_for makes: the most specific list, the first by id among equals.
        .order_by(specificity.desc(), candidate.id)
        .limit(1)
        .scalar_subquery()
    )
    return and_(tenant, PriceList.id == own)


async def price_lists(uow: UnitOfWork) -> list[PriceList]:
    """The price lists the actor may read, by name."""
    stmt = uow.mark(select(PriceList).where(price_list_rows(uow.access)).order_by(PriceList.name, PriceList.id))
    return list((await uow.session.execute(stmt)).scalars())


@dataclass(frozen=True)
class Pricing:
    """Unit prices for one buyer: list price less the buyer's price list."""

    price_list: PriceList | None
    fixed: dict[uuid.UUID, Decimal]

    def unit_price(self, product: Product) -> Decimal:
        if product.id in self.fixed:
            return self.fixed[product.id]
        if self.price_list is None:
            return product.list_price
        return to_cents(product.list_price * (Decimal(100) - self.price_list.discount_percent) / Decimal(100))


async def pricing_for(session: AsyncSession, tenant_id: uuid.UUID, org: Organization | None) -> Pricing:
    """The prices a buyer pays: its price list's discount and fixed prices, or list price for direct customers."""
    price_list = await price_list_for(session, tenant_id, org)
    fixed: dict[uuid.UUID, Decimal] = {}
    if price_list is not None:
        rows = await session.execute(
            select(PriceListItem.product_id, PriceListItem.unit_price).where(
                PriceListItem.tenant_id == tenant_id, PriceListItem.price_list_id == price_list.id
            )
        )
        fixed = {pid: price for pid, price in rows.all()}
    return Pricing(price_list, fixed)


async def buyer(uow: UnitOfWork, organization_id: uuid.UUID | None) -> Organization | None:
    """The organization a price is set for, None for a direct customer (or one no longer there).

    A buyer's kind and tier set its prices whether or not the actor's role lists that organization (a
    partner's own organization, the partner a quote was priced for), so it is read by a named system access.
    """
    if organization_id is None:
        return None
    pricing = system_unit_of_work(uow.session, uow.tenant_id, "pricing: the buyer's organization")
    return (await pricing.load(Organization, [organization_id])).get(organization_id)


async def own_buyer(uow: UnitOfWork) -> Organization | None:
    """The actor's own organization when it buys as a partner; None for internal people and machines."""
    actor = uow.actor
    if not actor.is_partner:
        return None
    return await buyer(uow, actor.organization_id)


async def viewer_pricing(uow: UnitOfWork) -> Pricing:
    """The prices of the unit's actor: their partner organization's price list, or list price."""
    return await pricing_for(uow.session, uow.tenant_id, await own_buyer(uow))


async def products_by_id(
    uow: UnitOfWork, ids: Iterable[uuid.UUID], v: Validator, field: str
) -> dict[uuid.UUID, Product]:
    """The active products among `ids` the actor may see; every unknown or inactive one is a field error."""
    wanted = list(dict.fromkeys(ids))
    stmt = uow.visible(Product).where(Product.id.in_(wanted), Product.active.is_(True))
    found = {p.id: p for p in (await uow.session.execute(stmt)).scalars()}
    for index, pid in enumerate(wanted):
        if pid not in found:
            v.fail(f"{field}[{index}].productId", ErrorCode.NOT_FOUND, "No active product with that id.")
    return found


def _require_catalogue_editor(uow: UnitOfWork) -> None:
    if not uow.access.can(Resource.PRODUCT, Action.UPDATE):
        raise Forbidden("Your role may not change price lists.")


async def set_price_list(
    uow: UnitOfWork,
    *,
    name: str | None,
    partner_kind: OrganizationKind | None,
    partner_tier: PartnerTier | None,
    discount_percent: Decimal | None,
) -> PriceList:
    """Create or change the price list of a partner kind and/or tier."""
    _require_catalogue_editor(uow)
    v = Validator()
    clean_name = v.require_text("name", name, max_length=200)
    if partner_kind is None and partner_tier is None:
        v.fail("partnerKind", ErrorCode.REQUIRED, "Give a partner kind, a partner tier, or both.")
    if partner_kind is OrganizationKind.ENTERPRISE:
        v.fail("partnerKind", ErrorCode.INVALID, "The enterprise buys at list price; price lists are for partners.")
    if discount_percent is None:
        v.fail("discountPercent", ErrorCode.REQUIRED, "discountPercent is required.")
    elif not discount_percent.is_finite() or not Decimal(0) <= discount_percent < Decimal(100):
        v.fail("discountPercent", ErrorCode.OUT_OF_RANGE, "discountPercent must be at least 0 and below 100.")
    elif discount_percent != discount_percent.quantize(CENT):
        v.fail("discountPercent", ErrorCode.INVALID, "discountPercent must have at most two decimal places.")
    v.raise_if_any()
    session, tenant_id = uow.session, uow.tenant_id
    price_list = (
        await session.execute(
            select(PriceList).where(
                PriceList.tenant_id == tenant_id,
                PriceList.partner_kind.is_(None) if partner_kind is None else PriceList.partner_kind == partner_kind,
                PriceList.partner_tier.is_(None) if partner_tier is None else PriceList.partner_tier == partner_tier,
            )
        )
    ).scalar_one_or_none()
    values = {"name": clean_name, "discount_percent": discount_percent}
    if price_list is None:
        price_list = PriceList(
            tenant_id=tenant_id, id=uuid.uuid4(), partner_kind=partner_kind, partner_tier=partner_tier, **values
        )
        session.add(price_list)
        await session.flush()
        audit_log.record(
            session,
            uow.access,
            record_type="price_list",
            record_id=price_list.id,
            action="created",
            changes=audit_log.created_changes({"partner_kind": partner_kind, "partner_tier": partner_tier, **values}),
        )
    else:
        await audit_log.apply_and_record(session, uow.access, price_list, "price_list", values)
    await session.flush()
    return price_list


async def set_fixed_price(
    uow: UnitOfWork,
    price_list_id: uuid.UUID,
    product_id: uuid.UUID,
    unit_price: Decimal | None,
) -> PriceList:
    """Fix one product's price on a price list (None removes it, and the list's discount applies again)."""
    _require_catalogue_editor(uow)
    session, tenant_id = uow.session, uow.tenant_id
    v = Validator()
    price = check_amount(v, "unitPrice", unit_price, required=False)
    price_list = await session.get(PriceList, (tenant_id, price_list_id))
    if price_list is None:
        v.fail("priceListId", ErrorCode.NOT_FOUND, "No price list with that id.")
    product = (await uow.load(Product, [product_id])).get(product_id)
    if product is None:
        v.fail("productId", ErrorCode.NOT_FOUND, "No product with that id.")
    v.raise_if_any()
    assert price_list is not None and product is not None
    item = (
        await session.execute(
            select(PriceListItem).where(
                PriceListItem.tenant_id == tenant_id,
                PriceListItem.price_list_id == price_list.id,
                PriceListItem.product_id == product.id,
            )
        )
    ).scalar_one_or_none()
    old = item.unit_price if item else None
    if price is None and item is not None:
        await session.delete(item)
    elif price is not None and item is None:
        fixed = PriceListItem(
            tenant_id=tenant_id, id=uuid.uuid4(), price_list_id=price_list.id, product_id=product.id, unit_price=price
        )
        session.add(fixed)
    elif price is not None and item is not None:
        item.unit_price = price
    if old != price:
        change = {"old": str(old) if old else None, "new": str(price) if price else None}
        audit_log.record(
            session,
            uow.access,
            record_type="price_list",
            record_id=price_list.id,
            action="price_fixed",
            changes={product.code: change},
        )
    await session.flush()
    return price_list
