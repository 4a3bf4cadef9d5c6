"""Compare the CRM's orders and contracts with the ERP's, report drift, and repair what can be repaired.

Drift kinds:
- missing_in_erp: the CRM sent (or should have sent) a record the ERP does not hold. Repair: queue it
  again (delivery looks up by reference first, so this cannot duplicate).
- missing_in_crm: the ERP holds a record with a CRM reference the CRM does not know (a restore, a
  record made by hand in the ERP). Not repaired automatically: the CRM cannot tell whose customer
  or deal it is; the report names it for a person to resolve.
- state_mismatch: the ERP's state (or invoice, shipment, paid amount) differs from what the CRM last
  applied. Repair: apply the ERP's status (the ERP is the master of fulfilment and payment).
- amount_mismatch: the ERP's total differs from the CRM's. Repair: record the ERP's total on the
  record and keep reporting it, since the CRM total is what the customer agreed.
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
from domain.erp_status import apply_status
from domain.erp_sync import ErpConnection, MessageKind, SyncState
from domain.orders import Order
from integrations.erp.port import ErpStatus, RecordKind
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
                        if repair and isinstance(row, Order):
                            row.erp_total = status.total_amount
                        detail = f"total CRM={_total(row)} ERP={status.total_amount}"
                        report.drift.append(Drift("amount_mismatch", kind.value, reference, detail, False))
                prefix = "SO-" if kind is RecordKind.ORDER else "CT-"
                theirs = {r for r in await port.all_references(kind) if r.startswith(prefix)}
                for reference in sorted(theirs - set(by_reference)):
                    report.drift.append(
                        Drift("missing_in_crm", kind.value, reference, "in the ERP but not in the CRM; resolve by hand")
                    )
        finally:
            await port.close()
    return report
