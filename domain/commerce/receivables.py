"""Payment plans and payments: what is due when, and what the ERP reports paid.

An order or contract gets installments when it is placed; the ERP reports how much of the
record has been paid in all, and that total is spread over the installments oldest first (so
the same report applied twice changes nothing). Every increase is kept as a payment.

A contract is billed by calendar month: its installments fall on the day of the month it started
(the month's last day when the month is shorter), each in the month it belongs to. What is billed,
due and overdue over the records a viewer sees is `balances`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import CHAR, Date, DateTime, ForeignKeyConstraint, Index, Integer, Numeric, Uuid, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.commerce.catalog import to_cents
from domain.shared.base import Base, TenantScoped, Timestamped, utcnow

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
