"""Compare the CRM's orders and contracts with the ERP's, report drift, and repair what can be repaired.

The ERP is asked with no database transaction open; repairs are written in one short transaction after.
Reconciliation is a system job over one tenant: it reads every order and contract of it through a system
unit of work.

Drift kinds:
- missing_in_erp: the CRM sent (or should have sent) a record the ERP does not hold. A record still
  on its way (pending, queued less than `pending_grace` ago) is not drift yet; one pending for longer is,
  with how long it has waited and why. Repair: queue it again, due now (delivery looks up by reference
  first, so this cannot duplicate).
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
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.access.actor import Action
from domain.access.unit_of_work import UnitOfWork, system_unit_of_work
from domain.commerce.contracts import Contract, ContractStatus
from domain.commerce.orders import Order, RestoredLine, restore_from_erp
from domain.erp import outbox as erp_sync
from domain.erp.outbox import MessageKind, OutboxMessage, SyncState
from domain.erp.status import adopt_erp_amount, apply_status
from infrastructure.db import transaction
from integrations.erp.port import ErpOrderDetails, ErpPort, ErpStatus, RecordKind
from integrations.erp.sync import PortFactory, adapter_for, reported

PENDING_GRACE = timedelta(minutes=10)
JOB = "erp reconcile"


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


async def _rows(uow: UnitOfWork, kind: RecordKind) -> list[Order | Contract]:
    """The tenant's orders, or its contracts past approval (the ones the ERP should hold), by number."""
    if kind is RecordKind.ORDER:
        return list((await uow.session.execute(uow.visible(Order).order_by(Order.number))).scalars())
    contracts = uow.visible(Contract).where(Contract.status.not_in([ContractStatus.DRAFT, ContractStatus.IN_APPROVAL]))
    return list((await uow.session.execute(contracts.order_by(Contract.number))).scalars())


def _waited(message: OutboxMessage | None, now: datetime) -> str:
    """How long a pending record has waited for the ERP, and why, for the report."""
    if message is None:
        return "pending, but no message is queued for it"
    minutes = int((now - message.created_at).total_seconds() // 60)
    why = f"; last error: {message.last_error[:200]}" if message.last_error else ""
    return f"pending for {minutes} min after {message.attempts} attempt(s){why}"


async def _restore(uow: UnitOfWork, reference: str, details: ErpOrderDetails | None) -> Drift:
    """Re-create an order the ERP holds and the CRM lost, from the ERP's details."""
    kind = RecordKind.ORDER
    if details is None:
        return Drift("missing_in_crm", kind.value, reference, "gone from the ERP meanwhile")
    lines = [RestoredLine(x.product_code, x.description, x.quantity, x.unit_price) for x in details.lines]
    try:
        async with uow.session.begin_nested():
            await restore_from_erp(
                uow.session,
                uow.tenant_id,
                number=reference,
                party_reference=details.party_reference,
                currency=details.currency,
                placed_on=details.sale_date,
                lines=lines,
            )
            await apply_status(uow, reported(details.status))
    except LookupError as exc:
        return Drift("missing_in_crm", kind.value, reference, f"not restored: {exc}")
    return Drift("missing_in_crm", kind.value, reference, "restored from the ERP", True)


@dataclass
class _Snapshot:
    """Both sides as read, the CRM's first (one read, no transaction held while the ERP is asked)."""

    rows: dict[RecordKind, list[Order | Contract]] = field(default_factory=dict)
    waiting: dict[uuid.UUID, OutboxMessage] = field(default_factory=dict)
    now: datetime | None = None
    statuses: dict[RecordKind, dict[str, ErpStatus]] = field(default_factory=dict)
    only_in_erp: dict[RecordKind, list[str]] = field(default_factory=dict)
    details: dict[str, ErpOrderDetails | None] = field(default_factory=dict)


async def _ask_erp(port: ErpPort, snapshot: _Snapshot, repair: bool) -> None:
    for kind in (RecordKind.ORDER, RecordKind.CONTRACT):
        references = [r.number for r in snapshot.rows[kind]]
        snapshot.statuses[kind] = await port.statuses(kind, references) if references else {}
        prefix = "SO-" if kind is RecordKind.ORDER else "CT-"
        theirs = {r for r in await port.all_references(kind) if r.startswith(prefix)}
        snapshot.only_in_erp[kind] = sorted(theirs - set(references))
    if repair:
        for reference in snapshot.only_in_erp[RecordKind.ORDER]:
            snapshot.details[reference] = await port.order_details(reference)


async def _compare(uow: UnitOfWork | None, snapshot: _Snapshot, pending_grace: timedelta) -> ReconcileReport:
    """The drift between both sides; with a unit of work, each repaired in it as it is found."""
    report = ReconcileReport()
    repair = uow is not None
    assert snapshot.now is not None
    for kind in (RecordKind.ORDER, RecordKind.CONTRACT):
        report.checked += len(snapshot.rows[kind])
        for read in snapshot.rows[kind]:
            reference, status = read.number, snapshot.statuses[kind].get(read.number)
            row = read
            if uow is not None:
                model = type(read)
                locked = uow.visible(model, Action.UPDATE).where(model.id == read.id).with_for_update()
                fresh = (await uow.session.execute(locked)).scalar_one_or_none()
                if fresh is None:
                    continue  # deleted since it was read
                row = fresh
            if status is None:
                waiting = snapshot.waiting.get(row.id)
                if read.sync_state is SyncState.PENDING:
                    if waiting is not None and snapshot.now - waiting.created_at < pending_grace:
                        continue  # on its way: not drift yet
                    detail = "not in the ERP; " + _waited(waiting, snapshot.now)
                else:
                    detail = "not in the ERP"
                if uow is not None:
                    row.sync_state = SyncState.PENDING
                    await erp_sync.send_now(uow.session, uow.tenant_id, MessageKind(kind.value), row.id, reference)
                report.drift.append(Drift("missing_in_erp", kind.value, reference, detail, repair))
                continue
            differences = _differences(read, status)
            if differences:
                if uow is not None:
                    await apply_status(uow, reported(status))
                report.drift.append(Drift("state_mismatch", kind.value, reference, "; ".join(differences), repair))
            if status.total_amount is not None and status.total_amount != _total(read):
                detail = f"total CRM={_total(read)} ERP={status.total_amount}"
                if uow is not None:
                    await adopt_erp_amount(uow, row, status.total_amount)
                report.drift.append(Drift("amount_mismatch", kind.value, reference, detail, repair))
        for reference in snapshot.only_in_erp[kind]:
            if uow is not None and kind is RecordKind.ORDER:
                report.drift.append(await _restore(uow, reference, snapshot.details.get(reference)))
            elif uow is not None:
                detail = "in the ERP but not in the CRM; resolve by hand"
                report.drift.append(Drift("missing_in_crm", kind.value, reference, detail))
            else:
                report.drift.append(Drift("missing_in_crm", kind.value, reference, "in the ERP but not in the CRM"))
    return report


async def reconcile(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    *,
    repair: bool = False,
    ports: PortFactory = adapter_for,
    pending_grace: timedelta = PENDING_GRACE,
) -> ReconcileReport:
    """Compare the tenant's orders and contracts with the ERP's; with `repair`, fix what can be fixed.

    A pending record the ERP lacks is drift once its message has waited `pending_grace`.
    """
    snapshot = _Snapshot()
    async with sessions() as session:
        uow = system_unit_of_work(session, tenant_id, JOB)
        connection = await erp_sync.connection_of(session, tenant_id)
        if connection is None:
            raise LookupError("No ERP connection is configured for this tenant.")
        for kind in (RecordKind.ORDER, RecordKind.CONTRACT):
            snapshot.rows[kind] = await _rows(uow, kind)
        snapshot.waiting = await erp_sync.waiting_messages(uow)
        snapshot.now = await erp_sync.database_now(session)
    port = ports(connection)
    try:
        await _ask_erp(port, snapshot, repair)
    finally:
        await port.close()
    if not repair:
        return await _compare(None, snapshot, pending_grace)
    async with transaction(sessions) as session:
        return await _compare(system_unit_of_work(session, tenant_id, JOB), snapshot, pending_grace)
