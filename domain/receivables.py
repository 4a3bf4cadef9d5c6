"""Payment plans and payments: what is due, what the ERP reports paid, what is overdue.

An order or contract gets installments when it is placed; the ERP reports how much of the
record has been paid in all, and that total is spread over the installments oldest first (so
the same report applied twice changes nothing). Every increase is kept as a payment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import (
    CHAR,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    Uuid,
    case,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import Base, TenantScoped, Timestamped, utcnow
from domain.catalog import to_cents

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


def plan(total: Decimal, first_due: date, count: int, every_days: int) -> list[tuple[date, Decimal]]:
    """`count` installments summing exactly to `total`, the last one taking the rounding rest."""
    if count <= 0 or total <= 0:
        return []
    share = to_cents(total / count)
    dues = [(first_due + timedelta(days=every_days * i), share) for i in range(count - 1)]
    dues.append((first_due + timedelta(days=every_days * (count - 1)), total - share * (count - 1)))
    return dues


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
    billed: Decimal
    paid: Decimal
    due: Decimal
    overdue: Decimal


def totals_query(visible_installments, today: date):  # type: ignore[no-untyped-def]
    """Billed, paid, outstanding and overdue per currency over the given installment filter."""
    outstanding = Installment.amount - Installment.paid_amount
    return (
        select(
            Installment.currency,
            func.coalesce(func.sum(Installment.amount), 0),
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

    return [ReceivableTotals(c, cents(b), cents(p), cents(d), cents(o)) for c, b, p, d, o in rows]
