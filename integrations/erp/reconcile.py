"""Compare the CRM's orders and contracts with the ERP's, report drift, and repair what can be repaired.

Drift kinds:
- missing_in_erp: the CRM sent (or should have sent) a record the ERP does not hold. Repair: queue it
  again (delivery looks up by reference first, so this cannot duplicate).
- missing_in_crm: the ERP holds an order with a CRM reference the CRM does not know (the CRM was
  restored from an older backup, say). Repair: restore the order from the ERP under its number (its
  party's code names the buying account or partner, its lines the products), with the ERP's status;
  when the party or a product cannot be matched, the report says so and nothing is made. A contract
  missing in the CRM is reported for a person to resolve (its terms are the CRM's to set).
- state_mismatch: the ERP's state (or invoice, shipment, paid amount) differs from what the CRM last
  applied. Repair: apply the ERP's status (the ERP is the master of fulfilment and payment).
- amount_mismatch: the ERP's total (a contract's monthly amount) differs from the CRM's. Repair:
  adopt the ERP's amount (it invoices), move the difference onto the last installment, audit it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain import erp_sync
from domain.contracts import Contract, ContractStatus
from domain.db import transaction
from domain.erp_status import adopt_erp_amount, apply_status
from domain.erp_sync import ErpConnection, MessageKind, SyncState
from domain.orders import Order, RestoredLine, restore_from_erp
from integrations.erp.port import ErpPort, ErpStatus, RecordKind
from integrations.erp.sync import PortFactory, adapter_for, reported


@dataclass(frozen=True)
class Drift:
    kind: str
    record: str  # order or contract
    reference: str
    detail: str
    repaired: bool = False


@dataclass
class ReconcileReport:
    checked: int = 0
    drift: list[Drift] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.drift


def _differences(row: Order | Contract, status: ErpStatus) -> list[str]:
    out = []
    if row.erp_state != status.state:
        out.append(f"state CRM={row.erp_state} ERP={status.state}")
    if isinstance(row, Order):
        if row.invoice_state != status.invoice_state:
            out.append(f"invoice CRM={row.invoice_state} ERP={status.invoice_state}")
        if row.shipment_state != status.shipment_state:
            out.append(f"shipment CRM={row.shipment_state} ERP={status.shipment_state}")
    if status.paid_amount is not None and row.paid_amount != status.paid_amount:
        out.append(f"paid CRM={row.paid_amount} ERP={status.paid_amount}")
    return out


def _total(row: Order | Contract) -> Decimal:
    """An order's total; a contract's amount per month (what the ERP bills each period)."""
    return row.total if isinstance(row, Order) else (row.value / row.term_months).quantize(Decimal("0.01"))


async def _rows(session: AsyncSession, tenant_id: uuid.UUID, kind: RecordKind) -> list[Order | Contract]:
    if kind is RecordKind.ORDER:
        return list(
            (await session.execute(select(Order).where(Order.tenant_id == tenant_id).order_by(Order.number))).scalars()
        )
    return list(
        (
            await session.execute(
                select(Contract)
                .where(
                    Contract.tenant_id == tenant_id,
                    Contract.status.not_in([ContractStatus.DRAFT, ContractStatus.IN_APPROVAL]),
                )
                .order_by(Contract.number)
            )
        ).scalars()
    )


async def _missing_in_crm(
    session: AsyncSession, port: ErpPort, tenant_id: uuid.UUID, kind: RecordKind, reference: str, repair: bool
) -> Drift:
    if not repair:
        return Drift("missing_in_crm", kind.value, reference, "in the ERP but not in the CRM")
    if kind is RecordKind.CONTRACT:
        return Drift("missing_in_crm", kind.value, reference, "in the ERP but not in the CRM; resolve by hand")
    details = await port.order_details(reference)
    if details is None:
        return Drift("missing_in_crm", kind.value, reference, "gone from the ERP meanwhile")
    lines = [RestoredLine(x.product_code, x.description, x.quantity, x.unit_price) for x in details.lines]
    try:
        async with session.begin_nested():
            await restore_from_erp(
                session, tenant_id, number=reference, party_reference=details.party_reference,
                currency=details.currency, placed_on=details.sale_date, lines=lines,
            )  # fmt: skip
            await apply_status(session, tenant_id, reported(details.status))
    except LookupError as exc:
        return Drift("missing_in_crm", kind.value, reference, f"not restored: {exc}")
    return Drift("missing_in_crm", kind.value, reference, "restored from the ERP", True)


async def reconcile(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    *,
    repair: bool = False,
    ports: PortFactory = adapter_for,
) -> ReconcileReport:
    report = ReconcileReport()
    async with transaction(sessions) as session:
        connection = await session.get(ErpConnection, tenant_id)
        if connection is None:
            raise LookupError("No ERP connection is configured for this tenant.")
        port = ports(connection)
        try:
            for kind in (RecordKind.ORDER, RecordKind.CONTRACT):
                rows = await _rows(session, tenant_id, kind)
                report.checked += len(rows)
                by_reference = {r.number: r for r in rows}
                statuses = await port.statuses(kind, list(by_reference)) if by_reference else {}
                for reference, row in by_reference.items():
                    status = statuses.get(reference)
                    if status is None:
                        if row.sync_state is SyncState.PENDING:
                            continue  # on its way: not drift yet
                        if repair:
                            row.sync_state = SyncState.PENDING
                            await erp_sync.enqueue(session, tenant_id, MessageKind(kind.value), row.id, reference)
                        report.drift.append(Drift("missing_in_erp", kind.value, reference, "not in the ERP", repair))
                        continue
                    differences = _differences(row, status)
                    if differences:
                        if repair:
                            await apply_status(session, tenant_id, reported(status))
                        report.drift.append(
                            Drift("state_mismatch", kind.value, reference, "; ".join(differences), repair)
                        )
                    if status.total_amount is not None and status.total_amount != _total(row):
                        detail = f"total CRM={_total(row)} ERP={status.total_amount}"
                        if repair:
                            await adopt_erp_amount(session, row, status.total_amount)
                        report.drift.append(Drift("amount_mismatch", kind.value, reference, detail, repair))
                prefix = "SO-" if kind is RecordKind.ORDER else "CT-"
                theirs = {r for r in await port.all_references(kind) if r.startswith(prefix)}
                for reference in sorted(theirs - set(by_reference)):
                    report.drift.append(await _missing_in_crm(session, port, tenant_id, kind, reference, repair))
        finally:
            await port.close()
    return report
