"""Balances: what is planned, billed, paid, due and overdue over the orders and contracts a viewer may see.

"Billed" is what the ERP has invoiced, not what the plan expects: an order once the ERP reports it
invoiced, a contract's month once the ERP holds the contract and the month has begun (the ERP
invoices a subscription month by month); money received is always billed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, and_, case, func, or_, outerjoin, select
from sqlalchemy.orm import aliased

from domain.access.unit_of_work import UnitOfWork
from domain.channel.organizations import Organization
from domain.commerce.catalog import to_cents
from domain.commerce.contracts import Contract
from domain.commerce.orders import NOT_YET_INVOICED, Order
from domain.commerce.receivables import Installment
from domain.selling.accounts import Account
from domain.shared.errors import NotFound


@dataclass(frozen=True)
class ReceivableTotals:
    currency: str
    planned: Decimal  # everything on the payment plans
    billed: Decimal  # what the ERP has invoiced of it
    paid: Decimal
    due: Decimal
    overdue: Decimal


def billed_installments(today: date) -> tuple[FromClause, ColumnElement[Any]]:
    """The installments joined to their order and contract, and what the ERP has billed of each: its amount once
    its order reports an invoice, or once its contract's month began while the ERP holds the contract; else what
    was paid (money received is always billed).

    The order and the contract are joined by their key, so each installment stays one row; a join lets the
    planner read each table once where a per-installment `EXISTS` probed its index once per installment. They are
    aliases, so a row rule over orders or contracts in the caller's filter keeps its own subquery."""
    order, contract = aliased(Order), aliased(Contract)
    joined = outerjoin(
        Installment, order, and_(order.tenant_id == Installment.tenant_id, order.id == Installment.order_id)
    ).outerjoin(contract, and_(contract.tenant_id == Installment.tenant_id, contract.id == Installment.contract_id))
    invoiced = or_(
        and_(
            order.invoice_state.is_not(None),
            order.invoice_state.not_in(NOT_YET_INVOICED),
        ),
        and_(contract.erp_id.is_not(None), Installment.due_date <= today),
    )
    return joined, case((invoiced, Installment.amount), else_=Installment.paid_amount)


def totals_query(visible_installments: ColumnElement[bool], today: date) -> Select[Any]:
    """Planned, billed, paid, outstanding and overdue per currency over the given installment filter."""
    outstanding = Installment.amount - Installment.paid_amount
    joined, billed = billed_installments(today)
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
        .select_from(joined)
        .where(visible_installments)
        .group_by(Installment.currency)
        .order_by(Installment.currency)
    )


def _cents(value: object) -> Decimal:
    return to_cents(Decimal(str(value)))


async def totals(uow: UnitOfWork, visible_installments: ColumnElement[bool], today: date) -> list[ReceivableTotals]:
    """The totals per currency over the given installment filter, built from the viewer's row rules (the orders
    and contracts joined in are those of installments the filter keeps)."""
    rows = (await uow.session.execute(uow.mark(totals_query(visible_installments, today)))).all()
    return [ReceivableTotals(c, _cents(pl), _cents(b), _cents(p), _cents(d), _cents(o)) for c, pl, b, p, d, o in rows]


@dataclass(frozen=True)
class ReceivablesFilter:
    """Narrowing of the receivables totals: by account, partner (its own purchases), order or contract."""

    account_id: uuid.UUID | None = None
    partner_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    contract_id: uuid.UUID | None = None


async def visible_totals(uow: UnitOfWork, flt: ReceivablesFilter, today: date) -> list[ReceivableTotals]:
    """Totals over the orders and contracts the viewer may see; a filter naming a record they cannot see is an
    error (NOT_FOUND), as any reference would be, never an empty or partial answer."""
    return await totals(uow, await visible_installments(uow, flt), today)


def installments_of_visible_business(uow: UnitOfWork) -> ColumnElement[bool]:
    """The installments of the orders and contracts the viewer may see."""
    return and_(
        Installment.tenant_id == uow.tenant_id,
        or_(
            Installment.order_id.in_(uow.visible_columns(Order, Order.id)),
            Installment.contract_id.in_(uow.visible_columns(Contract, Contract.id)),
        ),
    )


async def visible_installments(uow: UnitOfWork, flt: ReceivablesFilter) -> ColumnElement[bool]:
    """The installments of the orders and contracts the viewer may see, narrowed by the filter; NotFound when the
    filter names a record they cannot see."""
    refs: tuple[tuple[uuid.UUID | None, Any, str, str, Any], ...] = (
        (flt.account_id, Account, "account", "accountId", Installment.account_id),
        (flt.partner_id, Organization, "organization", "partnerId", Installment.partner_organization_id),
        (flt.order_id, Order, "order", "orderId", Installment.order_id),
        (flt.contract_id, Contract, "contract", "contractId", Installment.contract_id),
    )
    where = [installments_of_visible_business(uow)]
    for record_id, model, label, field, column in refs:
        if record_id is None:
            continue
        seen = await uow.session.scalar(uow.visible_columns(model, model.id).where(model.id == record_id))
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
    uow: UnitOfWork, flt: ReceivablesFilter, today: date, by: ReceivablesGrouping, limit: int = 100
) -> list[ReceivablesLine]:
    """The viewer's receivables line by line, the most overdue first (then the most due): per order (orders
    only) or per customer account (orders and contracts)."""
    where = await visible_installments(uow, flt)
    column = Installment.order_id if by is ReceivablesGrouping.ORDER else Installment.account_id
    if by is ReceivablesGrouping.ORDER:
        where = and_(where, Installment.order_id.is_not(None))
    outstanding = Installment.amount - Installment.paid_amount
    joined, billed = billed_installments(today)
    due = func.coalesce(func.sum(case((outstanding > 0, outstanding), else_=0)), 0)
    overdue = func.coalesce(
        func.sum(case(((outstanding > 0) & (Installment.due_date < today), outstanding), else_=0)), 0
    )
    planned, paid = func.coalesce(func.sum(Installment.amount), 0), func.coalesce(func.sum(Installment.paid_amount), 0)
    rows = (
        await uow.session.execute(
            uow.mark(
                select(column, Installment.currency, planned, func.coalesce(func.sum(billed), 0), paid, due, overdue)
                .select_from(joined)
                .where(where)
                .group_by(column, Installment.currency)
                .order_by(overdue.desc(), due.desc(), Installment.currency, column)
                .limit(max(1, min(limit, 100)))
            )
        )
    ).all()
    return [
        ReceivablesLine(
            order_id=key if by is ReceivablesGrouping.ORDER else None,
            account_id=key if by is ReceivablesGrouping.ACCOUNT else None,
            totals=ReceivableTotals(c, _cents(pl), _cents(b), _cents(p), _cents(d), _cents(o)),
        )
        for key, c, pl, b, p, d, o in rows
    ]
