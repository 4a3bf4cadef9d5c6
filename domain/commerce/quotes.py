"""Quotes on an opportunity: priced lines, discounts that may need approval, versions, acceptance.

A quote is priced for its buyer (a partner's price list when a partner quotes, list price for
direct deals). A line discount above the tenant's threshold needs approval by a role granted
APPROVE on quotes (sales managers for their territory, directors for all). Revising makes a new
version and supersedes the old one; only the newest version moves on.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

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
    UniqueConstraint,
    Uuid,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import Protected, UnitOfWork
from domain.audit import trail as audit_log
from domain.channel.organizations import Organization
from domain.commerce.catalog import CENT, Product, buyer, own_buyer, pricing_for, products_by_id, to_cents
from domain.commerce.codes import CommerceCode
from domain.erp.outbox import next_number
from domain.identity.tenants import Tenant
from domain.selling.opportunities import Opportunity, editable_opportunity_or_raise
from domain.selling.stages import Stage
from domain.shared.base import Base, TenantScoped, Timestamped, utcnow
from domain.shared.errors import Conflict, ErrorCode, Forbidden, Validator
from domain.shared.record_versions import Versioned, require_version

MAX_LINES = 200
MAX_QUANTITY = Decimal("1000000")


class QuoteStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    SENT = "sent"
    ACCEPTED = "accepted"
    ORDERED = "ordered"
    SUPERSEDED = "superseded"


class Quote(Protected, TenantScoped, Timestamped, Versioned, Base):
    """A priced offer; `version` is its revision number, `row_version` counts the changes to this revision."""

    __resource__ = Resource.QUOTE

    audit_record_type = "quote"
    __tablename__ = "quote"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "opportunity_id"], ["opportunity.tenant_id", "opportunity.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "number", "version"),
        Index("ix_quote_opportunity", "tenant_id", "opportunity_id"),
    )

    opportunity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    number: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[QuoteStatus] = mapped_column(Enum(QuoteStatus, name="quote_status"), default=QuoteStatus.DRAFT)
    currency: Mapped[str] = mapped_column(CHAR(3))
    # Whose price list the quote is priced from (None: list price, a direct deal).
    partner_organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    subtotal: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # before line discounts
    discount_total: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    total: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    max_discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class QuoteLine(TenantScoped, Base):
    __tablename__ = "quote_line"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "quote_id"], ["quote.tenant_id", "quote.id"], ondelete="CASCADE"),
        Index("ix_quote_line_quote", "tenant_id", "quote_id", "position"),
    )

    quote_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    product_code: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # the buyer's price, before this line's discount
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    net_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))


@dataclass(frozen=True)
class LineInput:
    product_id: uuid.UUID
    quantity: Decimal
    discount_percent: Decimal = Decimal("0")


@dataclass(frozen=True)
class PricedLine:
    product: Product
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal

    @property
    def gross(self) -> Decimal:
        return to_cents(self.unit_price * self.quantity)

    @property
    def net(self) -> Decimal:
        return to_cents(self.unit_price * self.quantity * (Decimal(100) - self.discount_percent) / Decimal(100))


def check_quantity(v: Validator, field: str, quantity: Decimal) -> None:
    if not quantity.is_finite() or quantity <= 0 or quantity > MAX_QUANTITY:
        v.fail(field, ErrorCode.OUT_OF_RANGE, f"{field} must be above 0 and at most {MAX_QUANTITY}.")
    elif quantity != quantity.quantize(CENT):
        v.fail(field, ErrorCode.INVALID, f"{field} must have at most two decimal places.")


async def price_lines(
    uow: UnitOfWork,
    lines: Sequence[LineInput],
    for_buyer: Organization | None,
    *,
    field: str = "lines",
    allow_discount: bool = True,
) -> tuple[list[PricedLine], str]:
    """Validate and price lines for a buyer; every bad line field is reported at once."""
    v = Validator()
    if not lines:
        v.fail(field, ErrorCode.REQUIRED, f"{field} must have at least one line.")
    elif len(lines) > MAX_LINES:
        v.fail(field, ErrorCode.OUT_OF_RANGE, f"{field} may have at most {MAX_LINES} lines.")
    for index, line in enumerate(lines):
        check_quantity(v, f"{field}[{index}].quantity", line.quantity)
        d = line.discount_percent
        if not allow_discount and d != 0:
            v.fail(f"{field}[{index}].discountPercent", ErrorCode.INVALID, "Orders are placed at price-list prices.")
        elif not d.is_finite() or not Decimal(0) <= d <= Decimal(100):
            v.fail(f"{field}[{index}].discountPercent", ErrorCode.OUT_OF_RANGE, "discountPercent must be 0 to 100.")
        elif d != d.quantize(CENT):
            v.fail(f"{field}[{index}].discountPercent", ErrorCode.INVALID, "At most two decimal places.")
    products = await products_by_id(uow, (line.product_id for line in lines), v, field)
    currencies = {p.currency for p in products.values()}
    if len(currencies) > 1:
        v.fail(field, ErrorCode.INVALID, f"All lines must be in one currency; these are in {sorted(currencies)}.")
    v.raise_if_any()
    pricing = await pricing_for(uow.session, uow.tenant_id, for_buyer)
    priced = [
        PricedLine(
            products[line.product_id],
            line.quantity,
            pricing.unit_price(products[line.product_id]),
            line.discount_percent,
        )
        for line in lines
    ]
    return priced, currencies.pop()


def _fill(quote: Quote, priced: list[PricedLine]) -> list[QuoteLine]:
    lines = [
        QuoteLine(
            tenant_id=quote.tenant_id,
            id=uuid.uuid4(),
            quote_id=quote.id,
            position=position,
            product_id=p.product.id,
            product_code=p.product.code,
            description=p.product.name,
            quantity=p.quantity,
            unit_price=p.unit_price,
            discount_percent=p.discount_percent,
            net_amount=p.net,
        )
        for position, p in enumerate(priced, start=1)
    ]
    quote.subtotal = sum((p.gross for p in priced), Decimal("0.00"))
    quote.total = sum((p.net for p in priced), Decimal("0.00"))
    quote.discount_total = quote.subtotal - quote.total
    quote.max_discount_percent = max((p.discount_percent for p in priced), default=Decimal("0"))
    return lines


async def create_quote(
    uow: UnitOfWork,
    opportunity_id: uuid.UUID,
    lines: Sequence[LineInput],
    *,
    valid_until: date | None = None,
) -> Quote:
    """A first draft quote on an opportunity the actor may edit, priced for the actor's own buyer."""
    if not uow.access.can(Resource.QUOTE, Action.CREATE):
        raise Forbidden("Your role may not create quotes.")
    session = uow.session
    opportunity = await editable_opportunity_or_raise(uow, opportunity_id)
    if opportunity.stage is Stage.CLOSED_LOST:
        raise Conflict(
            "This opportunity is lost; it takes no quotes.", field="opportunityId", code=CommerceCode.OPPORTUNITY_LOST
        )
    quoted_for = await own_buyer(uow)
    priced, currency = await price_lines(uow, lines, quoted_for)
    quote = Quote(
        tenant_id=uow.tenant_id,
        id=uuid.uuid4(),
        opportunity_id=opportunity.id,
        account_id=opportunity.account_id,
        number=await next_number(session, uow.tenant_id, "Q"),
        version=1,
        status=QuoteStatus.DRAFT,
        currency=currency,
        partner_organization_id=quoted_for.id if quoted_for else None,
        valid_until=valid_until,
        created_by_id=uow.actor.user_id,
    )
    session.add(quote)
    session.add_all(_fill(quote, priced))
    await session.flush()
    audit_log.record(
        session,
        uow.access,
        record_type="quote",
        record_id=quote.id,
        action="created",
        changes=audit_log.created_changes(
            {"number": quote.number, "opportunity_id": opportunity.id, "total": quote.total, "currency": currency}
        ),
    )
    return quote


# The quote's change counter is its `editVersion`: its `version` is the revision number.
VERSION_FIELD = "expectedEditVersion"


async def quote_for_change(
    uow: UnitOfWork,
    quote_id: uuid.UUID | None,
    *,
    action: Action,
    expected_version: int | None = None,
) -> Quote:
    """The newest revision of a quote, locked for change; with `expected_version`, refused if changed since."""
    quote = await uow.get(Quote, quote_id, action=action, for_update=True)
    # Revising supersedes the revision it starts from, so every revision but the newest is superseded.
    if quote.status is QuoteStatus.SUPERSEDED:
        raise Conflict(
            "A newer version of this quote exists; work on that one.",
            field="quoteId",
            code=CommerceCode.QUOTE_SUPERSEDED,
        )
    await require_version(uow.session, quote, expected_version, field=VERSION_FIELD)
    return quote


def _require(quote: Quote, *allowed: QuoteStatus) -> None:
    if quote.status in allowed:
        return
    names = ", ".join(s.value for s in allowed)
    message = f"The quote is {quote.status.value}; this needs it to be {names}."
    if quote.status is QuoteStatus.PENDING_APPROVAL:
        raise Conflict(
            f"{message} Its discount waits for approval.", field="quoteId", code=CommerceCode.DISCOUNT_NEEDS_APPROVAL
        )
    raise Conflict(message, field="quoteId", code=CommerceCode.QUOTE_WRONG_STATUS)


async def _move(uow: UnitOfWork, quote: Quote, status: QuoteStatus, **values: object) -> Quote:
    await audit_log.apply_and_record(uow.session, uow.access, quote, "quote", {"status": status, **values})
    await uow.session.flush()
    return quote


async def revise_quote(
    uow: UnitOfWork,
    quote_id: uuid.UUID,
    lines: Sequence[LineInput] | None,
    *,
    expected_version: int | None = None,
) -> Quote:
    """A new draft version (with new lines, or the same ones), priced for the same buyer; the old one is superseded."""
    session = uow.session
    old = await quote_for_change(uow, quote_id, action=Action.UPDATE, expected_version=expected_version)
    _require(
        old,
        QuoteStatus.DRAFT,
        QuoteStatus.PENDING_APPROVAL,
        QuoteStatus.APPROVED,
        QuoteStatus.REJECTED,
        QuoteStatus.SENT,
    )
    if lines is None:
        current = (
            await session.execute(
                select(QuoteLine).where(QuoteLine.tenant_id == old.tenant_id, QuoteLine.quote_id == old.id)
            )
        ).scalars()
        lines = [LineInput(x.product_id, x.quantity, x.discount_percent) for x in current]
    priced, currency = await price_lines(uow, lines, await buyer(uow, old.partner_organization_id))
    quote = Quote(
        tenant_id=old.tenant_id,
        id=uuid.uuid4(),
        opportunity_id=old.opportunity_id,
        account_id=old.account_id,
        number=old.number,
        version=old.version + 1,
        status=QuoteStatus.DRAFT,
        currency=currency,
        partner_organization_id=old.partner_organization_id,
        valid_until=old.valid_until,
        created_by_id=uow.actor.user_id,
    )
    session.add(quote)
    session.add_all(_fill(quote, priced))
    await _move(uow, old, QuoteStatus.SUPERSEDED)
    audit_log.record(
        session,
        uow.access,
        record_type="quote",
        record_id=quote.id,
        action="revised",
        changes={
            "version": {"old": old.version, "new": quote.version},
            "total": {"old": str(old.total), "new": str(quote.total)},
        },
    )
    await session.flush()
    return quote


async def submit_quote(uow: UnitOfWork, quote_id: uuid.UUID, *, expected_version: int | None = None) -> Quote:
    """Draft → approved, or → pending approval when a discount is above the tenant's threshold."""
    quote = await quote_for_change(uow, quote_id, action=Action.UPDATE, expected_version=expected_version)
    _require(quote, QuoteStatus.DRAFT)
    tenant = await uow.session.get(Tenant, quote.tenant_id)
    assert tenant is not None
    if quote.max_discount_percent > tenant.quote_approval_discount_percent:
        return await _move(uow, quote, QuoteStatus.PENDING_APPROVAL)
    return await _move(uow, quote, QuoteStatus.APPROVED, decided_at=utcnow())


async def decide_quote(
    uow: UnitOfWork, quote_id: uuid.UUID, *, approve: bool, expected_version: int | None = None
) -> Quote:
    """Approve or reject a discount; needs APPROVE on the quote and may not be the quote's own author."""
    if not uow.access.can(Resource.QUOTE, Action.APPROVE):
        raise Forbidden("Your role may not approve quote discounts.")
    quote = await quote_for_change(uow, quote_id, action=Action.APPROVE, expected_version=expected_version)
    _require(quote, QuoteStatus.PENDING_APPROVAL)
    actor = uow.actor
    if quote.created_by_id is not None and quote.created_by_id == actor.user_id:
        raise Forbidden(
            "You may not approve your own quote's discount.", field="quoteId", code=CommerceCode.QUOTE_SELF_APPROVAL
        )
    status = QuoteStatus.APPROVED if approve else QuoteStatus.REJECTED
    return await _move(uow, quote, status, approved_by_id=actor.user_id, decided_at=utcnow())


async def send_quote(uow: UnitOfWork, quote_id: uuid.UUID, *, expected_version: int | None = None) -> Quote:
    """Mark an approved quote as sent to the customer."""
    quote = await quote_for_change(uow, quote_id, action=Action.UPDATE, expected_version=expected_version)
    _require(quote, QuoteStatus.APPROVED)
    return await _move(uow, quote, QuoteStatus.SENT, sent_at=utcnow())


async def accept_quote(uow: UnitOfWork, quote_id: uuid.UUID, *, expected_version: int | None = None) -> Quote:
    """Record the customer's acceptance of the sent quote."""
    quote = await quote_for_change(uow, quote_id, action=Action.UPDATE, expected_version=expected_version)
    _require(quote, QuoteStatus.SENT)
    if quote.valid_until is not None and quote.valid_until < utcnow().date():
        raise Conflict(
            f"The quote expired on {quote.valid_until.isoformat()}; revise it.",
            field="quoteId",
            code=CommerceCode.QUOTE_EXPIRED,
        )
    return await _move(uow, quote, QuoteStatus.ACCEPTED, accepted_at=utcnow())


def visible_quotes(
    uow: UnitOfWork, *, opportunity_id: uuid.UUID | None = None, latest_only: bool = True
) -> Select[Any]:
    """The quotes the actor may see (those of the opportunities they see), of one opportunity or all.

    With `latest_only`, each quote's newest revision only: every other one is superseded.
    """
    # One deal's quotes are few: their rule is checked row by row, not by building every visible deal first.
    stmt = uow.visible(Quote) if opportunity_id is None else uow.visible_few(Quote)
    if opportunity_id is not None:
        stmt = stmt.where(Quote.opportunity_id == opportunity_id)
    if latest_only:
        stmt = stmt.where(Quote.status != QuoteStatus.SUPERSEDED)
    return stmt


async def quote_lines(session: AsyncSession, tenant_id: uuid.UUID, quote_id: uuid.UUID) -> list[QuoteLine]:
    rows = await session.execute(
        select(QuoteLine)
        .where(QuoteLine.tenant_id == tenant_id, QuoteLine.quote_id == quote_id)
        .order_by(QuoteLine.position)
    )
    return list(rows.scalars())


async def opportunity_of(uow: UnitOfWork, quote: Quote, field: str = "quoteId") -> Opportunity:
    """The opportunity of a quote the actor may see (whoever may see a quote sees its opportunity)."""
    return await uow.get(Opportunity, quote.opportunity_id, field=field)
