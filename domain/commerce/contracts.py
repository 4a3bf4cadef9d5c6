"""Contracts: from a won opportunity or an order; approved, synced to the ERP, renewed before they end.

Status runs draft → in_approval → active → expiring → renewed or terminated. Approval needs
APPROVE on contracts; it activates the contract, plans its installments (one a calendar month)
and queues the ERP message in one transaction. The scheduled job opens a renewal opportunity the
tenant's `contract_renewal_days` before the end (once: the contract remembers it), and
terminates the contract when it ends unrenewed. When the renewal opportunity is won, the job
marks the contract renewed and makes the contract for the next term, from the day after the end
for as many months: with the renewal's accepted quote's lines and prices when it has one, else
the same lines and prices. Terms carried over unchanged were approved already, so that contract
is active at once (installments planned, queued for the ERP); changed terms wait in approval.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import (
    CHAR,
    Date,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    Select,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    delete,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import Protected, UnitOfWork, across_tenants, system_unit_of_work
from domain.audit import trail as audit_log
from domain.audit.trail import AuditEvent
from domain.commerce import receivables
from domain.commerce.codes import CommerceCode
from domain.commerce.orders import Order, net_unit_price, order_lines
from domain.commerce.quotes import Quote as QuoteRow
from domain.commerce.quotes import QuoteStatus, quote_lines
from domain.erp import outbox as erp_sync
from domain.erp.outbox import ErpMirror, MessageKind, SyncState, next_number
from domain.identity.tenants import Tenant
from domain.selling.opportunities import Opportunity
from domain.selling.stages import STAGE_DEFAULTS, Stage
from domain.shared.base import Base, TenantScoped, Timestamped, utcnow
from domain.shared.errors import Conflict, ErrorCode, Forbidden, Validator
from domain.shared.record_versions import Versioned, require_version

MAX_TERM_MONTHS = 120


class ContractStatus(StrEnum):
    DRAFT = "draft"
    IN_APPROVAL = "in_approval"
    ACTIVE = "active"
    EXPIRING = "expiring"
    RENEWED = "renewed"
    TERMINATED = "terminated"


class Contract(Protected, TenantScoped, Timestamped, ErpMirror, Versioned, Base):
    """A term agreement on products; people approve and end it, the ERP bills it."""

    __resource__ = Resource.CONTRACT

    audit_record_type = "contract"
    # What the ERP last said and money received: written alongside people's changes, not a change of theirs.
    bookkeeping_fields = frozenset(
        {"erp_id", "erp_number", "erp_state", "erp_changed_at", "sync_state", "sync_error", "paid_amount"}
    )
    __tablename__ = "contract"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "number"),
        Index("ix_contract_account", "tenant_id", "account_id"),
        Index("ix_contract_opportunity", "tenant_id", "opportunity_id"),
        Index("ix_contract_end", "tenant_id", "status", "end_date"),
    )

    number: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    partner_organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    status: Mapped[ContractStatus] = mapped_column(
        Enum(ContractStatus, name="contract_status"), default=ContractStatus.DRAFT
    )
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    term_months: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(CHAR(3))
    value: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # over the whole term
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    renewal_opportunity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    renewed_by_contract_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    termination_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    paid_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal("0.00"))


class ContractLine(TenantScoped, Base):
    """A product of the contract, priced per month."""

    __tablename__ = "contract_line"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "contract_id"], ["contract.tenant_id", "contract.id"], ondelete="CASCADE"),
        Index("ix_contract_line_contract", "tenant_id", "contract_id", "position"),
    )

    contract_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    product_code: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    monthly_price: Mapped[Decimal] = mapped_column(Numeric(18, 4))  # per unit per month, to four places


def term_end(start: date, months: int) -> date:
    """The last day of a term of `months` calendar months from `start` (the day before the next term starts)."""
    return start + relativedelta(months=months) - timedelta(days=1)


# (product id, product code, description, quantity, monthly price per unit) of one contract line
SourceLine = tuple[uuid.UUID, str, str, Decimal, Decimal]


async def _accepted_quote(uow: UnitOfWork, opportunity_id: uuid.UUID) -> QuoteRow | None:
    """The opportunity's accepted (or ordered) quote, the newest when there are several."""
    return (
        await uow.session.execute(
            uow.visible(QuoteRow)
            .where(
                QuoteRow.opportunity_id == opportunity_id,
                QuoteRow.status.in_([QuoteStatus.ACCEPTED, QuoteStatus.ORDERED]),
            )
            .order_by(QuoteRow.updated_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def _quote_source(session: AsyncSession, quote: QuoteRow) -> list[SourceLine]:
    return [
        (x.product_id, x.product_code, x.description, x.quantity, net_unit_price(x.net_amount, x.quantity))
        for x in await quote_lines(session, quote.tenant_id, quote.id)
    ]


def _write_contract(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    source: Sequence[SourceLine],
    *,
    start_date: date,
    term_months: int,
    **values: object,
) -> Contract:
    """A contract and its lines; its value is the lines' monthly amount over the term."""
    monthly = sum((Decimal(q) * Decimal(p) for _, _, _, q, p in source), Decimal("0"))
    contract = Contract(
        tenant_id=tenant_id,
        id=uuid.uuid4(),
        start_date=start_date,
        term_months=term_months,
        end_date=term_end(start_date, term_months),
        value=(monthly * term_months).quantize(Decimal("0.01")),
        sync_state=SyncState.NOT_SENT,
        paid_amount=Decimal("0.00"),
        **values,
    )
    session.add(contract)
    for position, (product_id, code, description, quantity, price) in enumerate(source, start=1):
        session.add(
            ContractLine(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                contract_id=contract.id,
                position=position,
                product_id=product_id,
                product_code=code,
                description=description,
                quantity=quantity,
                monthly_price=price,
            )
        )
    return contract


async def create_contract(
    uow: UnitOfWork,
    *,
    opportunity_id: uuid.UUID | None,
    order_id: uuid.UUID | None,
    start_date: date | None,
    term_months: int | None,
    product_ids: Sequence[uuid.UUID] | None = None,
) -> Contract:
    """A draft contract from a won opportunity (its accepted quote's lines) or from an order (its lines).

    `product_ids` picks the lines it covers (the services of a deal that also sold goods); all by default.
    Line prices are taken as monthly prices over the term.
    """
    if not uow.access.can(Resource.CONTRACT, Action.CREATE):
        raise Forbidden("Your role may not create contracts.")
    v = Validator()
    if (opportunity_id is None) == (order_id is None):
        v.fail("opportunityId", ErrorCode.INVALID, "Give exactly one of opportunityId and orderId.")
    if start_date is None:
        v.fail("startDate", ErrorCode.REQUIRED, "startDate is required.")
    if term_months is None:
        v.fail("termMonths", ErrorCode.REQUIRED, "termMonths is required.")
    elif not 1 <= term_months <= MAX_TERM_MONTHS:
        v.fail("termMonths", ErrorCode.OUT_OF_RANGE, f"termMonths must be 1 to {MAX_TERM_MONTHS}.")
    v.raise_if_any()
    assert start_date is not None and term_months is not None
    session, tenant_id = uow.session, uow.tenant_id
    source: list[SourceLine]
    owner_id: uuid.UUID | None
    if opportunity_id is not None:
        opportunity = await uow.get(Opportunity, opportunity_id, action=Action.UPDATE, field="opportunityId")
        if opportunity.stage is not Stage.CLOSED_WON:
            raise Conflict(
                "A contract comes from a won opportunity; this one is not won.",
                field="opportunityId",
                code=CommerceCode.OPPORTUNITY_NOT_WON,
            )
        quote = await _accepted_quote(uow, opportunity.id)
        if quote is None:
            raise Conflict(
                "The opportunity has no accepted quote to take the contract's lines from.",
                field="opportunityId",
                code=CommerceCode.NO_ACCEPTED_QUOTE,
            )
        source = await _quote_source(session, quote)
        account_id, partner_id = opportunity.account_id, quote.partner_organization_id
        owner_id, currency = opportunity.owner_id, quote.currency
        order = None
    else:
        order = await uow.get(Order, order_id, field="orderId")
        if order.account_id is None:
            raise Conflict(
                "A stock order has no end customer to contract with.",
                field="orderId",
                code=CommerceCode.ORDER_WITHOUT_CUSTOMER,
            )
        source = [
            (x.product_id, x.product_code, x.description, x.quantity, x.unit_price)
            for x in await order_lines(session, tenant_id, order.id)
        ]
        account_id, partner_id = order.account_id, order.partner_organization_id
        owner_id, currency = order.owner_id, order.currency
        opportunity_id = order.opportunity_id
    if product_ids is not None:
        source = [row for row in source if row[0] in set(product_ids)]
        if not source:
            v.fail("productIds", ErrorCode.INVALID, "None of these products is on the quote or order.")
            v.raise_if_any()
    contract = _write_contract(
        session,
        tenant_id,
        source,
        number=await next_number(session, tenant_id, "CT"),
        account_id=account_id,
        opportunity_id=opportunity_id,
        order_id=order.id if order else None,
        partner_organization_id=partner_id,
        owner_id=owner_id or uow.actor.user_id,
        status=ContractStatus.DRAFT,
        start_date=start_date,
        term_months=term_months,
        currency=currency,
    )
    await session.flush()
    audit_log.record(
        session,
        uow.access,
        record_type="contract",
        record_id=contract.id,
        action="created",
        changes=audit_log.created_changes(
            {
                "number": contract.number,
                "value": contract.value,
                "start_date": start_date,
                "end_date": contract.end_date,
            }
        ),
    )
    return contract


async def _contract_for(
    uow: UnitOfWork, contract_id: uuid.UUID, action: Action, expected_version: int | None
) -> Contract:
    """The contract, locked for change; with `expected_version` (the version read), refused if changed since."""
    contract = await uow.get(Contract, contract_id, action=action, field="contractId", for_update=True)
    await require_version(uow.session, contract, expected_version)
    return contract


def _require(contract: Contract, *allowed: ContractStatus) -> None:
    if contract.status not in allowed:
        names = ", ".join(s.value for s in allowed)
        raise Conflict(
            f"The contract is {contract.status.value}; this needs it to be {names}.",
            field="contractId",
            code=CommerceCode.CONTRACT_WRONG_STATUS,
        )


async def submit_contract(uow: UnitOfWork, contract_id: uuid.UUID, *, expected_version: int | None = None) -> Contract:
    """Send a draft contract for approval."""
    contract = await _contract_for(uow, contract_id, Action.UPDATE, expected_version)
    _require(contract, ContractStatus.DRAFT)
    await audit_log.apply_and_record(
        uow.session, uow.access, contract, "contract", {"status": ContractStatus.IN_APPROVAL}
    )
    return contract


async def decide_contract(
    uow: UnitOfWork,
    contract_id: uuid.UUID,
    *,
    approve: bool,
    expected_version: int | None = None,
) -> Contract:
    """Approve (activate, plan installments, queue for the ERP) or send back to draft."""
    if not uow.access.can(Resource.CONTRACT, Action.APPROVE):
        raise Forbidden("Your role may not approve contracts.")
    contract = await _contract_for(uow, contract_id, Action.APPROVE, expected_version)
    _require(contract, ContractStatus.IN_APPROVAL)
    if not approve:
        await audit_log.apply_and_record(
            uow.session, uow.access, contract, "contract", {"status": ContractStatus.DRAFT}
        )
        return contract
    await audit_log.apply_and_record(
        uow.session,
        uow.access,
        contract,
        "contract",
        {
            "status": ContractStatus.ACTIVE,
            "approved_by_id": uow.actor.user_id,
            "approved_at": utcnow(),
            "sync_state": SyncState.PENDING,
        },
    )
    await _plan_and_queue(uow.session, contract)
    return contract


async def _plan_and_queue(session: AsyncSession, contract: Contract) -> None:
    """An activated contract's installments, one a calendar month from its start, and its ERP message."""
    owner = receivables.Owner(
        contract.id, None, contract.id, contract.account_id, contract.partner_organization_id, contract.currency
    )
    dues = receivables.monthly_due_dates(contract.start_date, contract.term_months)
    receivables.add_plan(session, contract.tenant_id, owner, receivables.plan(contract.value, dues))
    await erp_sync.enqueue(session, contract.tenant_id, MessageKind.CONTRACT, contract.id, contract.number)
    await session.flush()


async def terminate_contract(
    uow: UnitOfWork,
    contract_id: uuid.UUID,
    reason: str | None,
    effective: date | None = None,
    *,
    expected_version: int | None = None,
) -> Contract:
    """End a contract early (from `effective`, default today): it ends then, installments due after that are
    dropped, and a contract the ERP holds is queued so the ERP stops billing at the same date."""
    v = Validator()
    clean = v.require_text("reason", reason, max_length=2000)
    today = utcnow().date()
    end = effective or today
    if end < today:
        v.fail("effectiveDate", ErrorCode.OUT_OF_RANGE, "A termination takes effect today or later.")
    v.raise_if_any()
    session = uow.session
    contract = await _contract_for(uow, contract_id, Action.UPDATE, expected_version)
    _require(contract, ContractStatus.DRAFT, ContractStatus.IN_APPROVAL, ContractStatus.ACTIVE, ContractStatus.EXPIRING)
    values: dict[str, object] = {"status": ContractStatus.TERMINATED, "termination_reason": clean}
    if end < contract.end_date:
        values["end_date"] = max(end, contract.start_date)
    sent = contract.sync_state is not SyncState.NOT_SENT
    if sent:
        values["sync_state"] = SyncState.PENDING
    await audit_log.apply_and_record(session, uow.access, contract, "contract", values)
    await session.execute(
        delete(receivables.Installment).where(
            receivables.Installment.tenant_id == contract.tenant_id,
            receivables.Installment.record_id == contract.id,
            receivables.Installment.due_date > contract.end_date,
            receivables.Installment.paid_amount == 0,
        )
    )
    if sent:
        await erp_sync.enqueue(session, contract.tenant_id, MessageKind.CONTRACT, contract.id, contract.number)
    await session.flush()
    return contract


async def contract_lines(session: AsyncSession, tenant_id: uuid.UUID, contract_id: uuid.UUID) -> list[ContractLine]:
    rows = await session.execute(
        select(ContractLine)
        .where(ContractLine.tenant_id == tenant_id, ContractLine.contract_id == contract_id)
        .order_by(ContractLine.position)
    )
    return list(rows.scalars())


def _system_event(contract: Contract, action: str, changes: dict[str, dict[str, object]]) -> AuditEvent:
    return AuditEvent(
        tenant_id=contract.tenant_id,
        actor_user_id=None,
        actor_name="renewal job",
        record_type="contract",
        record_id=contract.id,
        action=action,
        changes=changes,
    )


def _terms(source: Sequence[SourceLine], currency: str) -> tuple[str, list[tuple[uuid.UUID, Decimal, Decimal]]]:
    return currency, sorted((product_id, Decimal(q), Decimal(p)) for product_id, _, _, q, p in source)


async def _renew(job: UnitOfWork, contract: Contract) -> Contract:
    """Mark the contract renewed and make the next term's contract from its won renewal opportunity."""
    assert contract.renewal_opportunity_id is not None
    session, tenant_id = job.session, contract.tenant_id
    renewal = await job.get(Opportunity, contract.renewal_opportunity_id)
    previous: list[SourceLine] = [
        (x.product_id, x.product_code, x.description, x.quantity, x.monthly_price)
        for x in await contract_lines(session, tenant_id, contract.id)
    ]
    source, currency, partner_id = previous, contract.currency, contract.partner_organization_id
    quote = await _accepted_quote(job, renewal.id)
    if quote is not None and (quoted := await _quote_source(session, quote)):
        source, currency, partner_id = quoted, quote.currency, quote.partner_organization_id
    unchanged = _terms(source, currency) == _terms(previous, contract.currency)
    following = _write_contract(
        session,
        tenant_id,
        source,
        number=await next_number(session, tenant_id, "CT"),
        account_id=contract.account_id,
        opportunity_id=renewal.id,
        order_id=None,
        partner_organization_id=partner_id,
        owner_id=renewal.owner_id or contract.owner_id,
        status=ContractStatus.ACTIVE if unchanged else ContractStatus.IN_APPROVAL,
        approved_at=utcnow() if unchanged else None,
        start_date=contract.end_date + timedelta(days=1),
        term_months=contract.term_months,
        currency=currency,
    )
    if unchanged:
        following.sync_state = SyncState.PENDING
    await session.flush()
    old_status = contract.status.value
    contract.status = ContractStatus.RENEWED
    contract.renewed_by_contract_id = following.id
    session.add(
        _system_event(
            contract,
            "renewed",
            {
                "status": {"old": old_status, "new": "renewed"},
                "renewed_by_contract_id": {"old": None, "new": str(following.id)},
            },
        )
    )
    session.add(
        _system_event(
            following,
            "created",
            audit_log.created_changes(
                {
                    "number": following.number,
                    "status": following.status,
                    "value": following.value,
                    "start_date": following.start_date,
                    "end_date": following.end_date,
                    "renews_contract": contract.number,
                }
            ),
        )
    )
    if unchanged:
        await _plan_and_queue(session, following)
    return following


RENEWAL_JOB = "contract renewals"


async def run_renewals(session: AsyncSession, today: date | None = None) -> dict[str, int]:
    """The scheduled renewal job for every tenant; safe to run from several workers (rows are locked, skipped)."""
    today = today or utcnow().date()
    counts = {"renewal_opportunities": 0, "renewed": 0, "terminated": 0}
    running = across_tenants(
        select(Contract, Tenant.contract_renewal_days)
        .join(Tenant, Tenant.id == Contract.tenant_id)
        .where(Contract.status.in_([ContractStatus.ACTIVE, ContractStatus.EXPIRING]))
        .with_for_update(of=Contract, skip_locked=True),
        "the renewal job opens, renews and ends every tenant's running contracts",
    )
    due = (await session.execute(running)).all()
    for contract, renewal_days in due:
        job = system_unit_of_work(session, contract.tenant_id, RENEWAL_JOB)
        if contract.renewal_opportunity_id is None and contract.end_date - timedelta(days=renewal_days) <= today:
            probability, forecast = STAGE_DEFAULTS[Stage.PROSPECTING]
            account_territory = await session.scalar(
                job.visible_columns(Opportunity, Opportunity.territory_id).where(
                    Opportunity.id == contract.opportunity_id
                )
            )
            renewal = Opportunity(
                tenant_id=contract.tenant_id,
                id=uuid.uuid4(),
                account_id=contract.account_id,
                name=f"Renewal of {contract.number}",
                owner_id=contract.owner_id,
                territory_id=account_territory,
                stage=Stage.PROSPECTING,
                amount=contract.value,
                currency=contract.currency,
                close_date=contract.end_date,
                probability=probability,
                forecast_category=forecast,
                source=f"renewal:{contract.number}",
            )
            session.add(renewal)
            contract.renewal_opportunity_id = renewal.id
            contract.status = ContractStatus.EXPIRING
            session.add(
                _system_event(
                    contract, "renewal_opened", {"renewal_opportunity_id": {"old": None, "new": str(renewal.id)}}
                )
            )
            counts["renewal_opportunities"] += 1
            continue
        if contract.renewal_opportunity_id is not None:
            stage = await session.scalar(
                job.visible_columns(Opportunity, Opportunity.stage).where(
                    Opportunity.id == contract.renewal_opportunity_id
                )
            )
            if stage is Stage.CLOSED_WON:
                await _renew(job, contract)
                counts["renewed"] += 1
                continue
        if contract.end_date < today:
            old = contract.status.value
            contract.status = ContractStatus.TERMINATED
            contract.termination_reason = "Ended without renewal."
            session.add(_system_event(contract, "ended", {"status": {"old": old, "new": "terminated"}}))
            counts["terminated"] += 1
    await session.flush()
    return counts


def visible_contracts(
    uow: UnitOfWork, *, status: ContractStatus | None = None, account_id: uuid.UUID | None = None
) -> Select[Any]:
    """The contracts the actor may see, narrowed by status or customer account."""
    stmt = uow.visible(Contract)
    if status is not None:
        stmt = stmt.where(Contract.status == status)
    if account_id is not None:
        stmt = stmt.where(Contract.account_id == account_id)
    return stmt
