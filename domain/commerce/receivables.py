"""Payment plans and payments: what is due, what the ERP invoiced and reports paid, what is overdue.

An order or contract gets installments when it is placed; the ERP reports how much of the
record has been paid in all, and that total is spread over the installments oldest first (so
the same report applied twice changes nothing). Every increase is kept as a payment.

A contract is billed by calendar month: its installments fall on the day of the month it started
(the month's last day when the month is shorter), each in the month it belongs to. "Billed" is
what the ERP has invoiced, not what the plan expects: an order once the ERP reports it invoiced,
a contract's month once the ERP holds the contract and the month has begun (the ERP invoices a
subscription month by month); money received is always billed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from dateutil.relativedelta import relativedelta
from sqlalchemy import (
    CHAR,
    ColumnElement,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    Uuid,
    and_,
    case,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Access, Resource
from domain.commerce.catalog import to_cents
from domain.shared.base import Base, TenantScoped, Timestamped, utcnow
from domain.shared.errors import NotFound

ZERO = Decimal("0.00")


class Installment(TenantScoped, Timestamped, Base):
    """One amount due on a date, for an order or a contract."""

    __tablename__ = "installment"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        Index("ix_installment_record", "tenant_id", "record_id", "sequence"),
    )

    record_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the order's or contract's id
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    contract_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    partner_organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    sequence: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    paid_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=ZERO)
    currency: Mapped[str] = mapped_column(CHAR(3))


class Payment(TenantScoped, Base):
    """Money the ERP reported received against an order or contract."""

    __tablename__ = "payment"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        Index("ix_payment_record", "tenant_id", "record_id"),
    )

    record_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    contract_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    partner_organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(CHAR(3))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@dataclass(frozen=True)
class Owner:
    """Whose receivable it is: the record and the account and partner it belongs to."""

    record_id: uuid.UUID
    order_id: uuid.UUID | None
    contract_id: uuid.UUID | None
    account_id: uuid.UUID | None
    partner_organization_id: uuid.UUID | None
    currency: str


def monthly_due_dates(first: date, count: int) -> list[date]:
    """`count` due dates a calendar month apart from `first`, each in its own month.

    Every one is counted from `first` (not from the one before), so a plan from 31 January falls on
    28 or 29 February and then on 31 March again.
    """
    return [first + relativedelta(months=i) for i in range(count)]


def plan(total: Decimal, due_dates: Sequence[date]) -> list[tuple[date, Decimal]]:
    """One installment per due date, summing exactly to `total`, the last one taking the rounding rest."""
    count = len(due_dates)
    if count == 0 or total <= 0:
        return []
    share = to_cents(total / count)
    return [(due, share) for due in due_dates[:-1]] + [(due_dates[-1], total - share * (count - 1))]


def add_plan(session: AsyncSession, tenant_id: uuid.UUID, owner: Owner, dues: list[tuple[date, Decimal]]) -> None:
    for sequence, (due, amount) in enumerate(dues, start=1):
        session.add(
            Installment(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                record_id=owner.record_id,
                order_id=owner.order_id,
                contract_id=owner.contract_id,
                account_id=owner.account_id,
                partner_organization_id=owner.partner_organization_id,
                sequence=sequence,
                due_date=due,
                amount=amount,
                paid_amount=ZERO,
                currency=owner.currency,
            )
        )


async def apply_paid_total(session: AsyncSession, tenant_id: uuid.UUID, owner: Owner, paid_total: Decimal) -> Decimal:
    """Spread the ERP's paid total over the record's installments; returns the increase (0 when none)."""
    installments = (
        (
            await session.execute(
                select(Installment)
                .where(Installment.tenant_id == tenant_id, Installment.record_id == owner.record_id)
                .order_by(Installment.sequence)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    before = sum((i.paid_amount for i in installments), ZERO)
    if paid_total <= before:
        return ZERO
    rest = paid_total
    for installment in installments:
        take = min(rest, installment.amount)
        installment.paid_amount = take
        rest -= take
    if installments and rest > 0:  # an overpayment stays on the last installment, visible as such
        installments[-1].paid_amount += rest
    increase = paid_total - before
    session.add(
        Payment(
            tenant_id=tenant_id,
            id=uuid.uuid4(),
            record_id=owner.record_id,
            order_id=owner.order_id,
            contract_id=owner.contract_id,
            account_id=owner.account_id,
            partner_organization_id=owner.partner_organization_id,
            amount=increase,
            currency=owner.currency,
            received_at=utcnow(),
        )
    )
    await session.flush()
    return increase


@dataclass(frozen=True)
class ReceivableTotals:
    currency: str
    planned: Decimal  # everything on the payment plans
    billed: Decimal  # what the ERP has invoiced of it
    paid: Decimal
    due: Decimal
    overdue: Decimal


def invoiced(today: date) -> ColumnElement[bool]:
    """Whether the ERP has invoiced an installment: its order reports an invoice, or its contract's month began
    while the ERP holds the contract."""
    from domain.commerce.contracts import Contract  # these modules plan installments, so they import this one
    from domain.commerce.orders import UNINVOICED, Order

    order_invoiced = exists().where(
        Order.tenant_id == Installment.tenant_id,
        Order.id == Installment.order_id,
        Order.invoice_state.is_not(None),
        Order.invoice_state.not_in([state for state in UNINVOICED if state is not None]),
    )
    contract_running = exists().where(
        Contract.tenant_id == Installment.tenant_id,
        Contract.id == Installment.contract_id,
        Contract.erp_id.is_not(None),
    )
    return or_(
        and_(Installment.order_id.is_not(None), order_invoiced),
        and_(Installment.contract_id.is_not(None), Installment.due_date <= today, contract_running),
    )


def totals_query(visible_installments, today: date):  # type: ignore[no-untyped-def]
    """Planned, billed, paid, outstanding and overdue per currency over the given installment filter."""
    outstanding = Installment.amount - Installment.paid_amount
    billed = case((invoiced(today), Installment.amount), else_=Installment.paid_amount)
    return (
        select(
            Installment.currency,
            func.coalesce(func.sum(Installment.amount), 0),
            func.coalesce(func.sum(billed), 0),
            func.coalesce(func.sum(Installment.paid_amount), 0),
            func.coalesce(func.sum(case((outstanding > 0, outstanding), else_=0)), 0),
            func.coalesce(
                func.sum(case(((outstanding > 0) & (Installment.due_date < today), outstanding), else_=0)), 0
            ),
        )
        .where(visible_installments)
        .group_by(Installment.currency)
        .order_by(Installment.currency)
    )


async def totals(session: AsyncSession, visible_installments, today: date) -> list[ReceivableTotals]:  # type: ignore[no-untyped-def]
    rows = (await session.execute(totals_query(visible_installments, today))).all()

    def cents(value: object) -> Decimal:
        return to_cents(Decimal(str(value)))

    return [ReceivableTotals(c, cents(pl), cents(b), cents(p), cents(d), cents(o)) for c, pl, b, p, d, o in rows]


@dataclass(frozen=True)
class ReceivablesFilter:
    """Narrowing of the receivables totals: by account, partner (its own purchases), order or contract."""

    account_id: uuid.UUID | None = None
    partner_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    contract_id: uuid.UUID | None = None


async def visible_totals(
    session: AsyncSession, access: Access, flt: ReceivablesFilter, today: date
) -> list[ReceivableTotals]:
    """Totals over the orders and contracts the viewer may see; a filter naming a record they cannot see is an
    error (NOT_FOUND), as any reference would be, never an empty or partial answer."""
    return await totals(session, await visible_installments(session, access, flt), today)


async def visible_installments(session: AsyncSession, access: Access, flt: ReceivablesFilter) -> ColumnElement[bool]:
    """The installments of the orders and contracts the viewer may see, narrowed by the filter; NotFound when the
    filter names a record they cannot see."""
    from domain.channel.organizations import Organization
    from domain.commerce.contracts import Contract
    from domain.commerce.orders import Order
    from domain.selling.accounts import Account  # the commerce modules import this one

    refs = (
        (flt.account_id, Account, Resource.ACCOUNT, "account", "accountId", Installment.account_id),
        (flt.partner_id, Organization, Resource.ORGANIZATION, "organization", "partnerId",
         Installment.partner_organization_id),
        (flt.order_id, Order, Resource.ORDER, "order", "orderId", Installment.order_id),
        (flt.contract_id, Contract, Resource.CONTRACT, "contract", "contractId", Installment.contract_id),
    )  # fmt: skip
    where = [
        Installment.tenant_id == access.actor.tenant_id,
        or_(
            Installment.order_id.in_(select(Order.id).where(access.rows(Resource.ORDER))),
            Installment.contract_id.in_(select(Contract.id).where(access.rows(Resource.CONTRACT))),
        ),
    ]
    for record_id, model, resource, label, field, column in refs:
        if record_id is None:
            continue
        seen = (
            await session.execute(select(model.id).where(access.rows(resource), model.id == record_id))  # type: ignore[attr-defined]
        ).scalar_one_or_none()
        if seen is None:
            raise NotFound(f"No {label} with that {field}.", field=field)
        where.append(column == record_id)
    return and_(*where)


class ReceivablesGrouping(StrEnum):
    """What a receivables breakdown has one line for."""

    ORDER = "order"
    ACCOUNT = "account"  # the end customer; None for a partner's own stock


@dataclass(frozen=True)
class ReceivablesLine:
    """One order's or one customer's receivables in one currency."""

    order_id: uuid.UUID | None
    account_id: uuid.UUID | None
    totals: ReceivableTotals


async def visible_breakdown(
    session: AsyncSession, access: Access, flt: ReceivablesFilter, today: date, by: ReceivablesGrouping,
    limit: int = 100,
) -> list[ReceivablesLine]:  # fmt: skip
    """The viewer's receivables line by line, the most overdue first (then the most due): per order (orders
    only) or per customer account (orders and contracts)."""
    where = await visible_installments(session, access, flt)
    column = Installment.order_id if by is ReceivablesGrouping.ORDER else Installment.account_id
    if by is ReceivablesGrouping.ORDER:
        where = and_(where, Installment.order_id.is_not(None))
    outstanding = Installment.amount - Installment.paid_amount
    billed = case((invoiced(today), Installment.amount), else_=Installment.paid_amount)
    due = func.coalesce(func.sum(case((outstanding > 0, outstanding), else_=0)), 0)
    overdue = func.coalesce(
        func.sum(case(((outstanding > 0) & (Installment.due_date < today), outstanding), else_=0)), 0
    )
    rows = (
        await session.execute(
            select(
                column, Installment.currency, func.coalesce(func.sum(Installment.amount), 0),
                func.coalesce(func.sum(billed), 0), func.coalesce(func.sum(Installment.paid_amount), 0), due, overdue,
            )
            .where(where)
            .group_by(column, Installment.currency)
            .order_by(overdue.desc(), due.desc(), Installment.currency, column)
            .limit(max(1, min(limit, 100)))
        )
    ).all()  # fmt: skip

    def cents(value: object) -> Decimal:
        return to_cents(Decimal(str(value)))

    return [
        ReceivablesLine(
            order_id=key if by is ReceivablesGrouping.ORDER else None,
            account_id=key if by is ReceivablesGrouping.ACCOUNT else None,
            totals=ReceivableTotals(c, cents(pl), cents(b), cents(p), cents(d), cents(o)),
        )
        for key, c, pl, b, p, d, o in rows
    ]
