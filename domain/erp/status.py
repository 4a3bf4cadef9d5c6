"""Applying what the ERP reports about an order or contract: idempotent, and in order per record.

A report carries the ERP's change time. A report older than the one applied last is ignored, the
same report again changes nothing, and the paid total is spread over the installments (so a
payment is counted once however often it is reported).

What the ERP reports is the ERP's to say whoever asked, so these run in a system unit of work over the
tenant (the delivery, the poll, the signed webhook and reconciliation are system jobs).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from domain.access.actor import Action
from domain.access.unit_of_work import UnitOfWork
from domain.audit.trail import AuditEvent
from domain.commerce import receivables
from domain.commerce.contracts import Contract, ContractStatus
from domain.commerce.orders import Order, OrderProgress, status_from_erp
from domain.erp.outbox import MessageKind, SyncState


@dataclass(frozen=True)
class ReportedStatus:
    kind: MessageKind
    reference: str
    erp_id: str
    state: str
    changed_at: datetime
    total_amount: Decimal | None = None
    invoice_state: str | None = None
    shipment_state: str | None = None
    paid_amount: Decimal | None = None
    number: str | None = None


@dataclass(frozen=True)
class Applied:
    """What one report did: `changed` False for a replay, an older report, or an unknown reference."""

    found: bool
    changed: bool
    record_id: uuid.UUID | None = None


def _event(
    tenant_id: uuid.UUID, record_type: str, record_id: uuid.UUID, changes: dict[str, dict[str, object]]
) -> AuditEvent:
    return AuditEvent(
        tenant_id=tenant_id,
        actor_user_id=None,
        actor_name="erp sync",
        record_type=record_type,
        record_id=record_id,
        action="erp_status",
        changes=changes,
    )


def _changes(row: object, values: dict[str, object]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for key, value in values.items():
        old = getattr(row, key)
        if old != value:
            out[key] = {"old": str(old) if old is not None else None, "new": str(value) if value is not None else None}
            setattr(row, key, value)
    return out


async def apply_status(uow: UnitOfWork, report: ReportedStatus) -> Applied:
    """Apply one report to the order or contract it names (row-locked), unless it is older than the last applied."""
    session, tenant_id = uow.session, uow.tenant_id
    model: type[Order | Contract] = Order if report.kind is MessageKind.ORDER else Contract
    row = (
        await session.execute(
            uow.visible(model, Action.UPDATE).where(model.number == report.reference).with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        return Applied(found=False, changed=False)
    if row.erp_changed_at is not None and report.changed_at < row.erp_changed_at:
        return Applied(found=True, changed=False, record_id=row.id)
    values: dict[str, object] = {
        "erp_id": report.erp_id,
        "erp_state": report.state,
        "erp_changed_at": report.changed_at,
    }
    if row.sync_state is not SyncState.PENDING:  # the ERP holds it; a newer version on its way stays pending
        values["sync_state"] = SyncState.SYNCED
        values["sync_error"] = None
    if report.number:
        values["erp_number"] = report.number
    owner = receivables.Owner(
        row.id,
        row.id if isinstance(row, Order) else None,
        row.id if isinstance(row, Contract) else None,
        row.account_id,
        row.partner_organization_id,
        row.currency,
    )
    paid = report.paid_amount if report.paid_amount is not None else row.paid_amount
    if isinstance(row, Order):
        values["invoice_state"] = report.invoice_state
        values["shipment_state"] = report.shipment_state
        if report.total_amount is not None:
            values["erp_total"] = report.total_amount
        values["paid_amount"] = max(paid, row.paid_amount)
        total = report.total_amount if report.total_amount is not None else row.total
        progress = OrderProgress(report.state, report.invoice_state, report.shipment_state)
        values["status"] = status_from_erp(progress, paid_in_full=total > 0 and values["paid_amount"] >= total)  # type: ignore[operator]
    else:
        values["paid_amount"] = max(paid, row.paid_amount)
        if report.state in ("closed", "cancelled", "canceled") and row.status in (
            ContractStatus.ACTIVE,
            ContractStatus.EXPIRING,
        ):
            values["status"] = ContractStatus.TERMINATED
    changes = _changes(row, values)
    await receivables.apply_paid_total(session, tenant_id, owner, row.paid_amount)
    visible_changes = {k: v for k, v in changes.items() if k != "erp_changed_at"}
    if visible_changes:
        session.add(_event(tenant_id, "order" if isinstance(row, Order) else "contract", row.id, visible_changes))
    await session.flush()
    return Applied(found=True, changed=bool(visible_changes), record_id=row.id)


async def adopt_erp_amount(uow: UnitOfWork, row: Order | Contract, erp_amount: Decimal) -> Decimal:
    """Take the ERP's amount (it is the master of invoicing): an order's total, or a contract's monthly amount.

    The difference goes onto the last installment, so the payment plan still sums to the total; an audit
    event records old and new. Returns the difference.
    """
    if isinstance(row, Order):
        old, new = row.total, erp_amount
        row.total = new
        row.erp_total = erp_amount
    else:
        old, new = row.value, (erp_amount * row.term_months).quantize(Decimal("0.01"))
        row.value = new
    difference = new - old
    session = uow.session
    if difference:
        last = (
            await session.execute(
                select(receivables.Installment)
                .where(receivables.Installment.tenant_id == row.tenant_id, receivables.Installment.record_id == row.id)
                .order_by(receivables.Installment.sequence.desc())
                .limit(1)
                .with_for_update()
            )
        ).scalar_one_or_none()
        if last is not None:
            last.amount += difference
        field = "total" if isinstance(row, Order) else "value"
        session.add(
            _event(
                row.tenant_id,
                "order" if isinstance(row, Order) else "contract",
                row.id,
                {field: {"old": str(old), "new": str(new)}},
            )
        )
    await session.flush()
    return difference
