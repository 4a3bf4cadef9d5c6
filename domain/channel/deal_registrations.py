"""Deal registration: a partner claims a customer deal, the channel manager decides, approval protects it.

Conflicts are found by the same identity matching as duplicates (tax id, domains, exact and fuzzy
names) against open opportunities, open registrations and accounts with active business. The
pre-check answers only whether there is a conflict, never whose. Decisions that depend on other
registrations run under one advisory lock per tenant, so of two racing claims exactly one wins.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ARRAY,
    CHAR,
    Date,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Uuid,
    and_,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Access, Action, Resource
from domain.access.visibility import get_or_raise
from domain.audit import trail as audit_log
from domain.identity.tenants import Tenant
from domain.selling.accounts import Account, LifecycleStage
from domain.selling.company_names import normalize_company_name
from domain.selling.customer_matching import CompanyIdentity, identity_of, matches_among, validate_tax_id
from domain.selling.opportunities import (
    STAGE_DEFAULTS,
    Opportunity,
    OpportunityPartner,
    OpportunityTeamMember,
    PartnerRole,
    SalesRole,
    Stage,
    TeamAccess,
)
from domain.shared.base import Base, TenantScoped, Timestamped, utcnow
from domain.shared.errors import Conflict, ErrorCode, Forbidden, Validator
from domain.shared.money import check_amount, check_currency

MAX_EXTENSION_DAYS = 180
MAX_PRODUCTS = 50  # product names on one registration


class RegistrationStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class ConflictKind(StrEnum):
    OPPORTUNITY = "opportunity"
    REGISTRATION = "registration"
    ACCOUNT = "account"


class DealRegistration(TenantScoped, Timestamped, Base):
    """A partner's claim to a customer deal, and what the channel manager decided."""

    __tablename__ = "deal_registration"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "partner_organization_id"], ["organization.tenant_id", "organization.id"]),
        ForeignKeyConstraint(["tenant_id", "submitted_by_id"], ["app_user.tenant_id", "app_user.id"]),
        ForeignKeyConstraint(["tenant_id", "account_id"], ["account.tenant_id", "account.id"]),
        ForeignKeyConstraint(["tenant_id", "opportunity_id"], ["opportunity.tenant_id", "opportunity.id"]),
        Index("ix_deal_registration_partner", "tenant_id", "partner_organization_id"),
        Index("ix_deal_registration_status", "tenant_id", "status", "protection_expires_at"),
        Index("ix_deal_registration_customer", "tenant_id", "customer_normalized_name"),
    )

    partner_organization_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    submitted_by_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_normalized_name: Mapped[str] = mapped_column(String(200))
    customer_tax_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    customer_web_domain: Mapped[str | None] = mapped_column(String(253), nullable=True)
    products: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(CHAR(3))
    expected_close_date: Mapped[date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[RegistrationStatus] = mapped_column(Enum(RegistrationStatus, name="registration_status"))
    conflicts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    protection_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    extension_requested_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    extension_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)

    def status_at(self, now: datetime) -> RegistrationStatus:
        """The status as it is now: an approval whose protection has run out reads as expired."""
        if (
            self.status is RegistrationStatus.APPROVED
            and self.protection_expires_at is not None
            and self.protection_expires_at <= now
        ):
            return RegistrationStatus.EXPIRED
        return self.status

    @property
    def identity(self) -> CompanyIdentity:
        return CompanyIdentity(self.customer_normalized_name, self.customer_tax_id, self.customer_web_domain)


@dataclass
class NewRegistration:
    """What a partner knows about the deal it registers."""

    customer_name: str
    amount: Decimal
    currency: str
    expected_close_date: date
    products: list[str]
    customer_tax_id: str | None = None
    customer_web_domain: str | None = None
    notes: str | None = None


# --- Finding conflicts -----------------------------------------------------------------------


async def _lock_registrations(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Serialize decisions about a tenant's registrations until the transaction ends."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('deal_registration:' || :t))"), {"t": str(tenant_id)}
    )


def _protected(now: datetime) -> Any:
    return and_(
        DealRegistration.status == RegistrationStatus.APPROVED,
        or_(DealRegistration.protection_expires_at.is_(None), DealRegistration.protection_expires_at > now),
    )


async def find_conflicts(
    session: AsyncSession, tenant_id: uuid.UUID, identity: CompanyIdentity, *, exclude_registration: uuid.UUID | None,
    partner_organization_id: uuid.UUID | None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Every record about the same customer that a new claim would clash with, with the reasons.

    This reads across the whole tenant on purpose: conflicts exist whoever can see the other record.
    Callers show the result only to the channel manager, or reduce it to yes/no.
    """
    now = utcnow()
    conflicts: list[dict[str, Any]] = []
    registrations = (
        (
            await session.execute(
                select(DealRegistration).where(
                    DealRegistration.tenant_id == tenant_id,
                    or_(DealRegistration.status == RegistrationStatus.SUBMITTED, _protected(now)),
                    DealRegistration.id != exclude_registration if exclude_registration else True,
                )
            )
        )
        .scalars()
        .all()
    )
    for reg, found in matches_among(identity, [(r, r.identity) for r in registrations]):
        conflicts.append({
            "kind": ConflictKind.REGISTRATION.value, "id": str(reg.id), "name": reg.customer_name,
            "status": reg.status.value, "same_partner": reg.partner_organization_id == partner_organization_id,
            "protected": reg.status is RegistrationStatus.APPROVED, "reasons": [m.detail for m in found],
        })  # fmt: skip
    open_business = select(Opportunity.account_id).where(
        Opportunity.tenant_id == tenant_id, Opportunity.stage.not_in([Stage.CLOSED_WON, Stage.CLOSED_LOST])
    )
    accounts = (
        (
            await session.execute(
                select(Account).where(
                    Account.tenant_id == tenant_id,
                    or_(Account.lifecycle_stage == LifecycleStage.CUSTOMER, Account.id.in_(open_business)),
                )
            )
        )
        .scalars()
        .all()
    )
    account_hits = matches_among(
        identity, [(a, CompanyIdentity(a.normalized_name, a.tax_id, a.web_domain)) for a in accounts]
    )
    if account_hits:
        hit_ids = [a.id for a, _ in account_hits]
        opportunities = (
            await session.execute(
                select(Opportunity).where(
                    Opportunity.tenant_id == tenant_id, Opportunity.account_id.in_(hit_ids),
                    Opportunity.stage.not_in([Stage.CLOSED_WON, Stage.CLOSED_LOST]),
                )
            )
        ).scalars().all()  # fmt: skip
        reasons_by_account = {a.id: [m.detail for m in found] for a, found in account_hits}
        for account, found in account_hits:
            conflicts.append({
                "kind": ConflictKind.ACCOUNT.value, "id": str(account.id), "name": account.name,
                "status": account.lifecycle_stage.value, "reasons": [m.detail for m in found],
            })  # fmt: skip
        for opp in opportunities:
            conflicts.append({
                "kind": ConflictKind.OPPORTUNITY.value, "id": str(opp.id), "name": opp.name,
                "status": opp.stage.value, "reasons": reasons_by_account[opp.account_id],
            })  # fmt: skip
    return conflicts


def _blocking(conflicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Conflicts that forbid approval: another partner's protected registration of the customer."""
    return [c for c in conflicts if c["kind"] == ConflictKind.REGISTRATION.value and c.get("protected")
            and not c.get("same_partner")]  # fmt: skip


# --- Use cases -------------------------------------------------------------------------------


def _customer_identity(v: Validator, name: str | None, tax_id: str | None, web_domain: str | None) -> CompanyIdentity:
    clean_name = v.require_text("customerName", name, max_length=200)
    clean_tax_id = None
    if tax_id and tax_id.strip():
        try:
            clean_tax_id = validate_tax_id(tax_id)
        except Exception as exc:  # noqa: BLE001 - ValidationFailed, re-reported under this input's field name
            v.fail("customerTaxId", ErrorCode.INVALID, getattr(exc, "message", "customerTaxId is not valid."))
    clean_domain = v.require_text("customerWebDomain", web_domain, max_length=253, required=False)
    return identity_of(clean_name or "", clean_tax_id, clean_domain)


async def precheck(
    session: AsyncSession, access: Access, name: str, tax_id: str | None, web_domain: str | None
) -> bool:
    """Whether a registration for this customer would meet a conflict; says nothing of whose."""
    if not access.can(Resource.DEAL_REGISTRATION, Action.CREATE):
        raise Forbidden("Your role may not register deals.")
    v = Validator()
    identity = _customer_identity(v, name, tax_id, web_domain)
    v.raise_if_any()
    conflicts = await find_conflicts(
        session, access.actor.tenant_id, identity, exclude_registration=None,
        partner_organization_id=access.actor.organization_id,
    )  # fmt: skip
    # A partner's own earlier claims are no conflict to it.
    return any(not c.get("same_partner") for c in conflicts)


async def submit(session: AsyncSession, access: Access, cmd: NewRegistration) -> DealRegistration:
    """Register a deal for the actor's organization; another partner's protected claim rejects it at once."""
    actor = access.actor
    if not access.can(Resource.DEAL_REGISTRATION, Action.CREATE) or not actor.is_partner or actor.user_id is None:
        raise Forbidden("Only partner users register deals.")
    v = Validator()
    identity = _customer_identity(v, cmd.customer_name, cmd.customer_tax_id, cmd.customer_web_domain)
    amount = check_amount(v, "amount", cmd.amount)
    currency = check_currency(v, "currency", cmd.currency)
    products = sorted(set(v.require_texts("products", cmd.products, max_length=100, max_items=MAX_PRODUCTS)))
    if not products:
        v.fail("products", ErrorCode.REQUIRED, "Name at least one product.")
    if cmd.expected_close_date is None or cmd.expected_close_date < utcnow().date():
        v.fail("expectedCloseDate", ErrorCode.OUT_OF_RANGE, "expectedCloseDate must be today or later.")
    notes = v.require_text("notes", cmd.notes, max_length=10_000, required=False)
    v.raise_if_any()
    await _lock_registrations(session, actor.tenant_id)
    conflicts = await find_conflicts(
        session, actor.tenant_id, identity, exclude_registration=None, partner_organization_id=actor.organization_id
    )
    blocking = _blocking(conflicts)
    registration = DealRegistration(
        tenant_id=actor.tenant_id, id=uuid.uuid4(), partner_organization_id=actor.organization_id,
        submitted_by_id=actor.user_id, customer_name=cmd.customer_name.strip(),
        customer_normalized_name=normalize_company_name(cmd.customer_name)[:200], customer_tax_id=identity.tax_id,
        customer_web_domain=identity.web_domain, products=products, amount=amount, currency=currency,
        expected_close_date=cmd.expected_close_date, notes=notes, conflicts=conflicts,
        status=RegistrationStatus.REJECTED if blocking else RegistrationStatus.SUBMITTED,
        decision_reason="Another partner's registration protects this customer." if blocking else None,
        decided_at=utcnow() if blocking else None,
    )  # fmt: skip
    session.add(registration)
    await session.flush()
    audit_log.record(
        session, access, record_type="deal_registration", record_id=registration.id, action="submitted",
        changes=audit_log.created_changes({"customer_name": registration.customer_name, "amount": amount,
                                           "status": registration.status, "conflicts": len(conflicts)}),
        reason=registration.decision_reason,
    )  # fmt: skip
    return registration


@dataclass
class ApprovalChanges:
    """What the channel manager changes while approving; None keeps the partner's value."""

    amount: Decimal | None = None
    expected_close_date: date | None = None
    products: list[str] | None = None
    # An open opportunity the registration is for, instead of opening a new one.
    opportunity_id: uuid.UUID | None = None


async def _decidable(session: AsyncSession, access: Access, registration_id: uuid.UUID) -> DealRegistration:
    if not access.can(Resource.DEAL_REGISTRATION, Action.APPROVE):
        # Partners may see their registrations but not decide them.
        await get_or_raise(session, access, DealRegistration, Resource.DEAL_REGISTRATION, registration_id)
        raise Forbidden("Only channel managers decide deal registrations.")
    registration = await get_or_raise(
        session, access, DealRegistration, Resource.DEAL_REGISTRATION, registration_id, action=Action.APPROVE,
        for_update=True,
    )  # fmt: skip
    if registration.status_at(utcnow()) is not RegistrationStatus.SUBMITTED:
        raise Conflict(
            f"The registration is {registration.status_at(utcnow()).value}, not awaiting a decision.", field="id"
        )
    return registration


async def approve(
    session: AsyncSession, access: Access, registration_id: uuid.UUID, changes: ApprovalChanges, reason: str | None
) -> DealRegistration:
    """Approve: start the protection window, and create or link the account and the opportunity."""
    actor = access.actor
    await _lock_registrations(session, actor.tenant_id)
    registration = await _decidable(session, access, registration_id)
    v = Validator()
    if changes.amount is not None:
        registration.amount = check_amount(v, "amount", changes.amount) or registration.amount
    if changes.expected_close_date is not None:
        registration.expected_close_date = changes.expected_close_date
    if changes.products is not None:
        products = v.require_texts("products", changes.products, max_length=100, max_items=MAX_PRODUCTS)
        registration.products = sorted(set(products)) or registration.products
    reason = v.require_text("reason", reason, max_length=2000, required=False)
    v.raise_if_any()
    conflicts = await find_conflicts(
        session, actor.tenant_id, registration.identity, exclude_registration=registration.id,
        partner_organization_id=registration.partner_organization_id,
    )  # fmt: skip
    if _blocking(conflicts):
        raise Conflict("Another partner's registration already protects this customer.", field="id")
    days = (await session.execute(select(Tenant.deal_protection_days).where(Tenant.id == actor.tenant_id))).scalar_one()
    now = utcnow()
    if changes.opportunity_id is not None:
        opportunity = await get_or_raise(
            session, access, Opportunity, Resource.OPPORTUNITY, changes.opportunity_id, action=Action.UPDATE,
            field="opportunityId", for_update=True,
        )  # fmt: skip
        if opportunity.stage.is_closed:
            raise Conflict("A closed opportunity cannot take a registration.", field="opportunityId")
        account = await session.get(Account, (opportunity.tenant_id, opportunity.account_id))
        assert account is not None
        await _link_partner_team(session, registration, opportunity)
    else:
        account = await _account_for(session, registration, conflicts, actor.user_id)
        opportunity = await _opportunity_for(session, registration, account, actor.user_id)
    registration.status = RegistrationStatus.APPROVED
    registration.conflicts = conflicts
    registration.decided_by_id, registration.decided_at, registration.decision_reason = actor.user_id, now, reason
    registration.protection_expires_at = now + timedelta(days=days)
    registration.account_id, registration.opportunity_id = account.id, opportunity.id
    await session.flush()
    audit_log.record(
        session, access, record_type="deal_registration", record_id=registration.id, action="approved",
        changes={"status": {"old": "submitted", "new": "approved"},
                 "protection_expires_at": {"old": None, "new": registration.protection_expires_at.isoformat()},
                 "opportunity_id": {"old": None, "new": str(opportunity.id)}},
        reason=reason,
    )  # fmt: skip
    return registration


async def _account_for(
    session: AsyncSession, registration: DealRegistration, conflicts: list[dict[str, Any]], owner_id: uuid.UUID | None
) -> Account:
    """The matching account (strongest match), or a new one managed by the registering partner."""
    matched = [c for c in conflicts if c["kind"] == ConflictKind.ACCOUNT.value]
    if not matched:
        candidates = (
            (
                await session.execute(
                    select(Account).where(
                        Account.tenant_id == registration.tenant_id,
                        Account.normalized_name == registration.customer_normalized_name,
                    )
                )
            )
            .scalars()
            .all()
        )
        if candidates:
            return candidates[0]
    else:
        found = await session.get(Account, (registration.tenant_id, uuid.UUID(matched[0]["id"])))
        if found is not None:
            return found
    account = Account(
        tenant_id=registration.tenant_id, id=uuid.uuid4(), name=registration.customer_name,
        normalized_name=registration.customer_normalized_name, tax_id=registration.customer_tax_id,
        web_domain=registration.customer_web_domain, owner_id=owner_id or registration.submitted_by_id,
        managing_partner_id=registration.partner_organization_id, lifecycle_stage=LifecycleStage.PROSPECT,
    )  # fmt: skip
    session.add(account)
    await session.flush()
    return account


async def _opportunity_for(
    session: AsyncSession, registration: DealRegistration, account: Account, owner_id: uuid.UUID | None
) -> Opportunity:
    """A new opportunity for the registered deal: the partner sourcing it and its submitter on the team."""
    probability, forecast = STAGE_DEFAULTS[Stage.QUALIFICATION]
    opportunity = Opportunity(
        tenant_id=registration.tenant_id, id=uuid.uuid4(), account_id=account.id,
        name=f"{registration.customer_name}: {', '.join(registration.products)}"[:200],
        owner_id=owner_id or registration.submitted_by_id, territory_id=account.territory_id,
        stage=Stage.QUALIFICATION, amount=registration.amount, currency=registration.currency,
        close_date=registration.expected_close_date, probability=probability, forecast_category=forecast,
    )  # fmt: skip
    session.add(opportunity)
    await session.flush()
    await _link_partner_team(session, registration, opportunity)
    return opportunity


async def _link_partner_team(session: AsyncSession, registration: DealRegistration, opportunity: Opportunity) -> None:
    """The registering partner as the deal's sourcing partner, and its submitter on the team (when not yet there)."""
    linked = (
        await session.execute(
            select(OpportunityPartner).where(
                OpportunityPartner.tenant_id == opportunity.tenant_id,
                OpportunityPartner.opportunity_id == opportunity.id,
                OpportunityPartner.organization_id == registration.partner_organization_id,
            )
        )
    ).scalar_one_or_none()
    if linked is None:
        session.add(
            OpportunityPartner(
                tenant_id=registration.tenant_id, opportunity_id=opportunity.id,
                organization_id=registration.partner_organization_id, role=PartnerRole.SOURCING,
            )
        )  # fmt: skip
    else:
        linked.role = PartnerRole.SOURCING
    on_team = (
        await session.execute(
            select(OpportunityTeamMember.id).where(
                OpportunityTeamMember.tenant_id == opportunity.tenant_id,
                OpportunityTeamMember.opportunity_id == opportunity.id,
                OpportunityTeamMember.user_id == registration.submitted_by_id,
            )
        )
    ).scalar_one_or_none()
    if registration.submitted_by_id != opportunity.owner_id and on_team is None:
        session.add(
            OpportunityTeamMember(
                tenant_id=registration.tenant_id, opportunity_id=opportunity.id, user_id=registration.submitted_by_id,
                sales_role=SalesRole.PARTNER_REP, access=TeamAccess.EDIT,
            )
        )  # fmt: skip
    await session.flush()


async def reject(
    session: AsyncSession, access: Access, registration_id: uuid.UUID, reason: str | None
) -> DealRegistration:
    """Reject a registration, with the reason the partner will read."""
    v = Validator()
    reason = v.require_text("reason", reason, max_length=2000)
    v.raise_if_any()
    registration = await _decidable(session, access, registration_id)
    registration.status = RegistrationStatus.REJECTED
    registration.decided_by_id, registration.decided_at, registration.decision_reason = (
        access.actor.user_id, utcnow(), reason,
    )  # fmt: skip
    await session.flush()
    audit_log.record(
        session, access, record_type="deal_registration", record_id=registration.id, action="rejected",
        changes={"status": {"old": "submitted", "new": "rejected"}}, reason=reason,
    )  # fmt: skip
    return registration


async def withdraw(
    session: AsyncSession, access: Access, registration_id: uuid.UUID, reason: str | None
) -> DealRegistration:
    """The registering partner withdraws its claim; an approved one stops protecting at once."""
    registration = await get_or_raise(
        session, access, DealRegistration, Resource.DEAL_REGISTRATION, registration_id, action=Action.UPDATE,
        for_update=True,
    )  # fmt: skip
    status = registration.status_at(utcnow())
    if status not in (RegistrationStatus.SUBMITTED, RegistrationStatus.APPROVED):
        raise Conflict(f"A {status.value} registration cannot be withdrawn.", field="id")
    registration.status = RegistrationStatus.WITHDRAWN
    await session.flush()
    audit_log.record(
        session, access, record_type="deal_registration", record_id=registration.id, action="withdrawn",
        changes={"status": {"old": status.value, "new": "withdrawn"}}, reason=reason,
    )  # fmt: skip
    return registration


async def request_extension(
    session: AsyncSession, access: Access, registration_id: uuid.UUID, days: int, reason: str | None
) -> DealRegistration:
    """The partner asks for more protection time on an approved registration."""
    v = Validator()
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        v.fail("days", ErrorCode.OUT_OF_RANGE, f"days must be between 1 and {MAX_EXTENSION_DAYS}.")
    reason = v.require_text("reason", reason, max_length=2000)
    v.raise_if_any()
    registration = await get_or_raise(
        session, access, DealRegistration, Resource.DEAL_REGISTRATION, registration_id, action=Action.UPDATE,
        for_update=True,
    )  # fmt: skip
    if registration.status_at(utcnow()) is not RegistrationStatus.APPROVED:
        raise Conflict("Only an approved, still protected registration can be extended.", field="id")
    registration.extension_requested_days, registration.extension_reason = days, reason
    await session.flush()
    audit_log.record(
        session, access, record_type="deal_registration", record_id=registration.id, action="extension_requested",
        changes={"extension_requested_days": {"old": None, "new": days}}, reason=reason,
    )  # fmt: skip
    return registration


async def decide_extension(
    session: AsyncSession, access: Access, registration_id: uuid.UUID, grant_days: int, reason: str | None
) -> DealRegistration:
    """The channel manager extends protection by `grant_days` (0 declines the request)."""
    if not access.can(Resource.DEAL_REGISTRATION, Action.APPROVE):
        raise Forbidden("Only channel managers extend protection.")
    v = Validator()
    if not 0 <= grant_days <= MAX_EXTENSION_DAYS:
        v.fail("days", ErrorCode.OUT_OF_RANGE, f"days must be between 0 and {MAX_EXTENSION_DAYS}.")
    v.raise_if_any()
    registration = await get_or_raise(
        session, access, DealRegistration, Resource.DEAL_REGISTRATION, registration_id, action=Action.APPROVE,
        for_update=True,
    )  # fmt: skip
    if (
        registration.status_at(utcnow()) is not RegistrationStatus.APPROVED
        or registration.protection_expires_at is None
    ):
        raise Conflict("Only an approved, still protected registration can be extended.", field="id")
    before = registration.protection_expires_at
    registration.protection_expires_at = before + timedelta(days=grant_days)
    registration.extension_requested_days = None
    await session.flush()
    audit_log.record(
        session, access, record_type="deal_registration", record_id=registration.id,
        action="extension_granted" if grant_days else "extension_declined",
        changes={"protection_expires_at": {"old": before.isoformat(),
                                           "new": registration.protection_expires_at.isoformat()}},
        reason=reason,
    )  # fmt: skip
    return registration


async def expire_due(session: AsyncSession, now: datetime | None = None) -> int:
    """Mark approved registrations whose protection ran out as expired (the scheduled job); how many."""
    now = now or utcnow()
    result = await session.execute(
        update(DealRegistration)
        .where(DealRegistration.status == RegistrationStatus.APPROVED, DealRegistration.protection_expires_at <= now)
        .values(status=RegistrationStatus.EXPIRED, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def set_protection_days(session: AsyncSession, access: Access, days: int) -> int:
    """Change how long new approvals protect (tenant setting, admin only)."""
    if not access.can(Resource.POLICY, Action.UPDATE):
        raise Forbidden("Only admins change tenant settings.")
    if not 1 <= days <= 730:
        v = Validator()
        v.fail("days", ErrorCode.OUT_OF_RANGE, "days must be between 1 and 730.")
        v.raise_if_any()
    tenant = await session.get(Tenant, access.actor.tenant_id, with_for_update=True)
    assert tenant is not None
    before = tenant.deal_protection_days
    tenant.deal_protection_days = days
    await session.flush()
    audit_log.record(
        session, access, record_type="tenant", record_id=tenant.id, action="settings_changed",
        changes={"deal_protection_days": {"old": before, "new": days}},
    )  # fmt: skip
    return days
