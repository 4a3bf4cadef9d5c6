"""Orders: made in the CRM (from an accepted quote, or by a partner for its customers or stock), confirmed by the ERP.

Placing an order writes the order, its lines, its payment plan and its outbox message in one
transaction. A partner orders at its price list's prices and within its credit limit: the ERP's
limit, less what the ERP says it owes, less its CRM orders the ERP has not invoiced yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import (
    CHAR,
    ColumnElement,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    Select,
    String,
    UniqueConstraint,
    Uuid,
    delete,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import Protected, UnitOfWork, system_unit_of_work
from domain.audit import trail as audit_log
from domain.audit.trail import AuditEvent
from domain.channel.organizations import Organization
from domain.commerce import receivables
from domain.commerce.catalog import Product, own_buyer, to_cents
from domain.commerce.codes import CommerceCode
from domain.commerce.quotes import LineInput, QuoteStatus, opportunity_of, price_lines, quote_for_change, quote_lines
from domain.erp import outbox as erp_sync
from domain.erp.outbox import ErpMirror, MessageKind, MessageStatus, OutboxMessage, SyncState, next_number
from domain.identity.tenants import Tenant
from domain.selling.accounts import Account
from domain.selling.stages import Stage
from domain.shared.base import Base, TenantScoped, Timestamped, utcnow
from domain.shared.errors import Conflict, Forbidden, Validator

ZERO = Decimal("0.00")


class OrderStatus(StrEnum):
    SUBMITTED = "submitted"  # placed in the CRM, not yet confirmed by the ERP
    CONFIRMED = "confirmed"  # the ERP confirmed the sale
    SHIPPED = "shipped"
    COMPLETED = "completed"  # shipped and paid
    CANCELLED = "cancelled"


class Order(Protected, TenantScoped, Timestamped, ErpMirror, Base):
    __resource__ = Resource.ORDER
    __tablename__ = "sales_order"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "number"),
        Index("ix_sales_order_account", "tenant_id", "account_id"),
        Index("ix_sales_order_partner", "tenant_id", "partner_organization_id"),
        Index("ix_sales_order_opportunity", "tenant_id", "opportunity_id"),
    )

    number: Mapped[str] = mapped_column(String(20))
    # The end customer (None for a partner's stock order).
    account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    quote_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    # The partner that buys (and is billed); None for direct business.
    partner_organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    placed_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    status: Mapped[OrderStatus] = mapped_column(Enum(OrderStatus, name="order_status"), default=OrderStatus.SUBMITTED)
    currency: Mapped[str] = mapped_column(CHAR(3))
    total: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    invoice_state: Mapped[str | None] = mapped_column(String(40), nullable=True)
    shipment_state: Mapped[str | None] = mapped_column(String(40), nullable=True)
    paid_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=ZERO)
    erp_total: Mapped[Decimal | None] = mapped_column(Numeric(18, 2), nullable=True)


class OrderLine(TenantScoped, Base):
    __tablename__ = "sales_order_line"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "order_id"], ["sales_order.tenant_id", "sales_order.id"], ondelete="CASCADE"
        ),
        Index("ix_sales_order_line_order", "tenant_id", "order_id", "position"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    product_code: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    # Net of any discount, to four places as ERPs price (so quantity × unit price gives the line's amount).
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    net_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))


class CreditStanding(Base):
    """A party's credit as the ERP last reported it."""

    __tablename__ = "erp_credit"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    party_reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    credit_limit: Mapped[Decimal | None] = mapped_column(Numeric(18, 2), nullable=True)
    owed: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=ZERO)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class _Billed(Protocol):
    @property
    def partner_organization_id(self) -> uuid.UUID | None: ...

    @property
    def account_id(self) -> uuid.UUID | None: ...


def party_reference(record: _Billed) -> str:
    """Who the ERP bills for an order or contract: the partner that bought, else the customer account."""
    return str(record.partner_organization_id or record.account_id)


async def record_credit(
    session: AsyncSession, tenant_id: uuid.UUID, reference: str, limit: Decimal | None, owed: Decimal
) -> None:
    """Keep a party's credit as the ERP reported it (an upsert: two orders of one partner may report at once)."""
    values = {"credit_limit": limit, "owed": owed, "fetched_at": utcnow()}
    await session.execute(
        insert(CreditStanding)
        .values(tenant_id=tenant_id, party_reference=reference, **values)
        .on_conflict_do_update(index_elements=["tenant_id", "party_reference"], set_=values)
    )


UNINVOICED = (None, "none", "pending")
# The states of an order the ERP has not invoiced yet, as SQL constants: they are the rules' own texts, never a
# request's, and as parameters they would keep PostgreSQL from settling on one plan for a kept statement that
# reads receivables (services/compiled_reads/run.with_constants keeps every text a parameter).
NOT_YET_INVOICED: tuple[ColumnElement[str], ...] = tuple(
    literal_column(f"'{state}'") for state in UNINVOICED if state is not None
)


async def available_credit(uow: UnitOfWork, organization_id: uuid.UUID) -> Decimal | None:
    """What the partner may still order for; None when the ERP sets no limit (or has not said).

    Every open order of the partner counts against its credit, whoever may see it, so they are summed by a
    named system access.
    """
    standing = await uow.session.get(CreditStanding, (uow.tenant_id, str(organization_id)))
    if standing is None or standing.credit_limit is None:
        return None
    ledger = system_unit_of_work(uow.session, uow.tenant_id, "credit: a partner's uninvoiced orders")
    open_orders = await uow.session.scalar(
        ledger.visible_columns(Order, func.coalesce(func.sum(Order.total - Order.paid_amount), 0)).where(
            Order.partner_organization_id == organization_id,
            Order.status != OrderStatus.CANCELLED,
            (Order.invoice_state.is_(None)) | (Order.invoice_state.in_(NOT_YET_INVOICED)),
        )
    )
    return standing.credit_limit - standing.owed - Decimal(open_orders or 0)


# (product code, description, product id, quantity, net unit price) of one order line
PricedRow = tuple[str, str, uuid.UUID, Decimal, Decimal]


async def _write_order(
    session: AsyncSession, tenant: Tenant, rows: Sequence[PricedRow], placed_on: date, **values: object
) -> Order:
    """The order with its lines and payment plan; a line's amount is quantity × unit price, as the ERP bills it."""
    order = Order(
        tenant_id=tenant.id,
        id=uuid.uuid4(),
        status=OrderStatus.SUBMITTED,
        total=sum((to_cents(quantity * unit_price) for _, _, _, quantity, unit_price in rows), ZERO),
        payment_terms_days=tenant.payment_terms_days,
        paid_amount=ZERO,
        **values,
    )
    session.add(order)
    for position, (code, description, product_id, quantity, unit_price) in enumerate(rows, start=1):
        session.add(
            OrderLine(
                tenant_id=tenant.id,
                id=uuid.uuid4(),
                order_id=order.id,
                position=position,
                product_id=product_id,
                product_code=code,
                description=description,
                quantity=quantity,
                unit_price=unit_price,
                net_amount=to_cents(quantity * unit_price),
            )
        )
    await session.flush()
    owner = receivables.Owner(order.id, order.id, None, order.account_id, order.partner_organization_id, order.currency)
    due = placed_on + timedelta(days=tenant.payment_terms_days)
    receivables.add_plan(session, tenant.id, owner, receivables.plan(order.total, [due]))
    return order


async def _place(
    uow: UnitOfWork,
    *,
    priced: Sequence[PricedRow],
    currency: str,
    account_id: uuid.UUID | None,
    opportunity_id: uuid.UUID | None,
    quote_id: uuid.UUID | None,
    partner_organization_id: uuid.UUID | None,
    owner_id: uuid.UUID | None,
) -> Order:
    """Write the order, its lines, payment plan and outbox message (the caller's transaction)."""
    session, tenant_id = uow.session, uow.tenant_id
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    order = await _write_order(
        session,
        tenant,
        priced,
        utcnow().date(),
        number=await next_number(session, tenant_id, "SO"),
        account_id=account_id,
        opportunity_id=opportunity_id,
        quote_id=quote_id,
        partner_organization_id=partner_organization_id,
        owner_id=owner_id,
        placed_by_id=uow.actor.user_id,
        currency=currency,
        sync_state=SyncState.PENDING,
    )
    audit_log.record(
        session,
        uow.access,
        record_type="order",
        record_id=order.id,
        action="created",
        changes=audit_log.created_changes(
            {"number": order.number, "total": order.total, "currency": currency, "quote_id": quote_id}
        ),
    )
    await erp_sync.enqueue(session, tenant_id, MessageKind.ORDER, order.id, order.number)
    return order


def net_unit_price(net: Decimal, quantity: Decimal) -> Decimal:
    """The unit price that gives a line's net amount, to four places."""
    return (net / quantity).quantize(Decimal("0.0001"))


async def order_from_quote(uow: UnitOfWork, quote_id: uuid.UUID) -> Order:
    """Turn the accepted quote of a won opportunity into an order."""
    if not uow.access.can(Resource.ORDER, Action.CREATE):
        raise Forbidden("Your role may not place orders.")
    quote = await quote_for_change(uow, quote_id, action=Action.UPDATE)
    if quote.status is not QuoteStatus.ACCEPTED:
        raise Conflict(
            f"The quote is {quote.status.value}; only an accepted quote becomes an order.",
            field="quoteId",
            code=CommerceCode.QUOTE_NOT_ACCEPTED,
        )
    opportunity = await opportunity_of(uow, quote)
    if opportunity.stage is not Stage.CLOSED_WON:
        raise Conflict(
            "Win the opportunity first: an order comes from a won deal.",
            field="quoteId",
            code=CommerceCode.OPPORTUNITY_NOT_WON,
        )
    lines = await quote_lines(uow.session, quote.tenant_id, quote.id)
    priced = [
        (
            x.product_code,
            x.description,
            x.product_id,
            x.quantity,
            net_unit_price(x.net_amount, x.quantity),
        )
        for x in lines
    ]
    order = await _place(
        uow,
        priced=priced,
        currency=quote.currency,
        account_id=quote.account_id,
        opportunity_id=quote.opportunity_id,
        quote_id=quote.id,
        partner_organization_id=quote.partner_organization_id,
        owner_id=opportunity.owner_id,
    )
    await audit_log.apply_and_record(uow.session, uow.access, quote, "quote", {"status": QuoteStatus.ORDERED})
    await uow.session.flush()
    return order


async def place_partner_order(uow: UnitOfWork, lines: Sequence[LineInput], *, account_id: uuid.UUID | None) -> Order:
    """A partner orders for one of its customers (a visible account) or for its own stock (no account)."""
    actor = uow.actor
    if not actor.is_partner or actor.organization_id is None:
        raise Forbidden("Only partner users place partner orders; internal orders come from quotes.")
    if not uow.access.can(Resource.ORDER, Action.CREATE):
        raise Forbidden("Your role may not place orders.")
    buyer = await own_buyer(uow)
    assert buyer is not None
    if account_id is not None:
        await uow.get(Account, account_id, field="accountId")
    priced_lines, currency = await price_lines(uow, lines, buyer, allow_discount=False)
    total = sum((p.net for p in priced_lines), ZERO)
    available = await available_credit(uow, buyer.id)
    if available is not None and total > available:
        raise Conflict(
            f"The order total {total} {currency} is above the credit available ({max(available, ZERO)} {currency}).",
            field="lines",
            code=CommerceCode.CREDIT_EXCEEDED,
        )
    priced = [
        (p.product.code, p.product.name, p.product.id, p.quantity, net_unit_price(p.net, p.quantity))
        for p in priced_lines
    ]
    return await _place(
        uow,
        priced=priced,
        currency=currency,
        account_id=account_id,
        opportunity_id=None,
        quote_id=None,
        partner_organization_id=buyer.id,
        owner_id=actor.user_id,
    )


async def order_lines(session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID) -> list[OrderLine]:
    rows = await session.execute(
        select(OrderLine)
        .where(OrderLine.tenant_id == tenant_id, OrderLine.order_id == order_id)
        .order_by(OrderLine.position)
    )
    return list(rows.scalars())


@dataclass(frozen=True)
class OrderProgress:
    state: str
    invoice_state: str | None
    shipment_state: str | None


def status_from_erp(progress: OrderProgress, paid_in_full: bool) -> OrderStatus:
    """The CRM's order status for what the ERP reports."""
    if progress.state == "cancelled":
        return OrderStatus.CANCELLED
    shipped = progress.shipment_state == "sent"
    if shipped and (paid_in_full or progress.invoice_state == "paid"):
        return OrderStatus.COMPLETED
    if shipped:
        return OrderStatus.SHIPPED
    if progress.state in ("confirmed", "processing", "done"):
        return OrderStatus.CONFIRMED
    return OrderStatus.SUBMITTED


@dataclass(frozen=True)
class RestoredLine:
    product_code: str
    description: str
    quantity: Decimal
    unit_price: Decimal


async def restore_from_erp(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    number: str,
    party_reference: str | None,
    currency: str,
    placed_on: date | None,
    lines: Sequence[RestoredLine],
) -> Order:
    """Re-create an order the ERP holds and the CRM lost (reconcile --repair), under its own number.

    The party's code is the CRM id of the buying partner or account. Raises LookupError naming what
    cannot be matched (the party, or product codes), and changes nothing then. A repair of the tenant's
    records from the ERP's, it reads them by a named system access.
    """
    reconcile = system_unit_of_work(session, tenant_id, "ERP reconcile: restore a lost order")
    buyer: uuid.UUID | None = None
    try:
        buyer = uuid.UUID(party_reference or "")
    except ValueError:
        raise LookupError(f"the ERP party {party_reference!r} is not a CRM account or partner") from None
    partner = (await reconcile.load(Organization, [buyer])).get(buyer)
    account = None if partner else (await reconcile.load(Account, [buyer])).get(buyer)
    if partner is None and account is None:
        raise LookupError(f"no account or partner {buyer} in this tenant")
    codes = [x.product_code for x in lines]
    products = {
        p.code: p for p in (await session.execute(reconcile.visible(Product).where(Product.code.in_(codes)))).scalars()
    }
    unknown = sorted({x.product_code for x in lines} - set(products))
    if unknown or not lines:
        raise LookupError(f"unknown product codes {unknown}" if unknown else "the ERP order has no product lines")
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    placed_on = placed_on or utcnow().date()
    rows = [(x.product_code, x.description, products[x.product_code].id, x.quantity, x.unit_price) for x in lines]
    order = await _write_order(
        session,
        tenant,
        rows,
        placed_on,
        number=number,
        account_id=account.id if account else None,
        partner_organization_id=partner.id if partner else None,
        currency=currency,
        sync_state=SyncState.SYNCED,
        created_at=datetime.combine(placed_on, datetime.min.time(), tzinfo=UTC),
    )
    prefix, _, digits = number.partition("-")
    if digits.isdigit():  # later numbers must not collide with the restored one
        await session.execute(
            text(
                "INSERT INTO number_sequence (tenant_id, name, value) VALUES (:t, :n, :v) "
                "ON CONFLICT (tenant_id, name) DO UPDATE SET value = greatest(number_sequence.value, excluded.value)"
            ),
            {"t": tenant_id, "n": prefix, "v": int(digits)},
        )
    session.add(
        AuditEvent(
            tenant_id=tenant_id,
            actor_user_id=None,
            actor_name="erp reconcile",
            record_type="order",
            record_id=order.id,
            action="restored_from_erp",
            changes={"number": {"old": None, "new": number}, "total": {"old": None, "new": str(order.total)}},
        )
    )
    await session.flush()
    return order


def is_cancellable(order: Order) -> bool:
    """Whether the CRM may still cancel the order: not cancelled, and the ERP has not received it."""
    received = order.erp_id is not None or order.sync_state is SyncState.SYNCED
    return order.status is not OrderStatus.CANCELLED and not received


async def cancel_order(uow: UnitOfWork, order_id: uuid.UUID, reason: str | None) -> Order:
    """Cancel an order the ERP has not received yet: its message is withdrawn and its installments dropped.

    Once the ERP holds the order, cancelling is the ERP's to do (it may have shipped or invoiced); its
    cancellation then comes back like any other status.
    """
    v = Validator()
    clean = v.require_text("reason", reason, max_length=2000)
    v.raise_if_any()
    session = uow.session
    order = await uow.get(Order, order_id, action=Action.UPDATE, for_update=True)
    if order.status is OrderStatus.CANCELLED:
        raise Conflict("The order is cancelled already.", field="id", code=CommerceCode.ORDER_ALREADY_CANCELLED)
    if not is_cancellable(order):
        raise Conflict(
            "The ERP has the order already: cancel it there, and the CRM follows.",
            field="id",
            code=CommerceCode.ORDER_NOT_CANCELLABLE,
        )
    # The order's own messages are withdrawn with it, whether or not the actor's role reads the outbox.
    outbox = system_unit_of_work(session, uow.tenant_id, "withdraw a cancelled order's ERP messages")
    try:
        async with session.begin_nested():
            messages = (
                (
                    await session.execute(
                        outbox.visible(OutboxMessage, Action.UPDATE)
                        .where(
                            OutboxMessage.record_id == order.id,
                            OutboxMessage.status.in_([MessageStatus.PENDING, MessageStatus.DEAD]),
                        )
                        .with_for_update(nowait=True)
                    )
                )
                .scalars()
                .all()
            )
    except DBAPIError:  # a worker is claiming or recording a delivery
        messages = None
    now = await erp_sync.database_now(session)
    if messages is None or any(erp_sync.is_claimed(m, now) for m in messages):  # or is talking to the ERP about it
        raise Conflict(
            "The order is being sent to the ERP right now; try again in a moment.",
            field="id",
            code=CommerceCode.ORDER_BEING_SENT,
        )
    for message in messages:
        message.status, message.last_error = MessageStatus.CANCELLED, "The order was cancelled before delivery."
    await audit_log.apply_and_record(
        session, uow.access, order, "order", {"status": OrderStatus.CANCELLED, "sync_state": SyncState.NOT_SENT}
    )
    audit_log.record(session, uow.access, record_type="order", record_id=order.id, action="cancelled", reason=clean)
    await session.execute(
        delete(receivables.Installment).where(
            receivables.Installment.tenant_id == order.tenant_id, receivables.Installment.record_id == order.id
        )
    )
    await session.flush()
    return order


def visible_orders(
    uow: UnitOfWork,
    *,
    status: OrderStatus | None = None,
    sync_state: SyncState | None = None,
    account_id: uuid.UUID | None = None,
    partner_id: uuid.UUID | None = None,
) -> Select[Any]:
    """The orders the actor may see, narrowed by status, state of delivery to the ERP, customer or buying partner."""
    stmt = uow.visible(Order)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    if sync_state is not None:
        stmt = stmt.where(Order.sync_state == sync_state)
    if account_id is not None:
        stmt = stmt.where(Order.account_id == account_id)
    if partner_id is not None:
        stmt = stmt.where(Order.partner_organization_id == partner_id)
    return stmt
