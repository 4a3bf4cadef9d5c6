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
    Select,
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
from domain.access.unit_of_work import Protected, UnitOfWork, across_tenants, system_unit_of_work
from domain.audit import trail as audit_log
from domain.channel.codes import ChannelCode
from domain.identity.tenants import Tenant
from domain.selling.accounts import Account, LifecycleStage
from domain.selling.company_names import normalize_company_name
from domain.selling.customer_matching import CompanyIdentity, identity_of, matches_among, validate_tax_id
from domain.selling.opportunities import (
    Opportunity,
    OpportunityPartner,
    OpportunityTeamMember,
    PartnerRole,
    SalesRole,
    TeamAccess,
)
from domain.selling.stages import STAGE_DEFAULTS, Stage
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


class DealRegistration(Protected, TenantScoped, Timestamped, Base):
    """A partner's claim to a customer deal, and what the channel manager decided."""

    __resource__ = Resource.DEAL_REGISTRATION

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


def _open_business() -> Any:
    return Opportunity.stage.not_in([Stage.CLOSED_WON, Stage.CLOSED_LOST])


async def find_conflicts(
    uow: UnitOfWork,
    identity: CompanyIdentity,
    *,
    exclude_registration: uuid.UUID | None,
    partner_organization_id: uuid.UUID | None,
) -> list[dict[str, Any]]:
    """Every record about the same customer that a new claim would clash with, with the reasons.

    This reads across the whole tenant on purpose (through its system access): conflicts exist whoever can
    see the other record. Callers show the result only to the channel manager, or reduce it to yes/no.
    """
    tenant = system_unit_of_work(uow.session, uow.tenant_id, "deal registration conflicts")
    session = uow.session
    now = utcnow()
    conflicts: list[dict[str, Any]] = []
    live = tenant.visible(DealRegistration).where(
        or_(DealRegistration.status == RegistrationStatus.SUBMITTED, _protected(now))
    )
    if exclude_registration is not None:
        live = live.where(DealRegistration.id != exclude_registration)
    registrations = (await session.execute(live)).scalars().all()
    for reg, found in matches_among(identity, [(r, r.identity) for r in registrations]):
        conflicts.append(
            {
                "kind": ConflictKind.REGISTRATION.value,
                "id": str(reg.id),
                "name": reg.customer_name,
                "status": reg.status.value,
                "same_partner": reg.partner_organization_id == partner_organization_id,
                "protected": reg.status is RegistrationStatus.APPROVED,
                "reasons": [m.detail for m in found],
            }
        )
    open_business = tenant.visible_columns(Opportunity, Opportunity.account_id).where(_open_business())
    active = tenant.visible(Account).where(
        or_(Account.lifecycle_stage == LifecycleStage.CUSTOMER, Account.id.in_(open_business))
    )
    accounts = (await session.execute(active)).scalars().all()
    account_hits = matches_among(
        identity, [(a, CompanyIdentity(a.normalized_name, a.tax_id, a.web_domain)) for a in accounts]
    )
    if account_hits:
        hit_ids = [a.id for a, _ in account_hits]
        open_deals = tenant.visible(Opportunity).where(Opportunity.account_id.in_(hit_ids), _open_business())
        opportunities = (await session.execute(open_deals)).scalars().all()
        reasons_by_account = {a.id: [m.detail for m in found] for a, found in account_hits}
        for account, found in account_hits:
            conflicts.append(
                {
                    "kind": ConflictKind.ACCOUNT.value,
                    "id": str(account.id),
                    "name": account.name,
                    "status": account.lifecycle_stage.value,
                    "reasons": [m.detail for m in found],
                }
            )
        for opp in opportunities:
            conflicts.append(
                {
                    "kind": ConflictKind.OPPORTUNITY.value,
                    "id": str(opp.id),
                    "name": opp.name,
                    "status": opp.stage.value,
                    "reasons": reasons_by_account[opp.account_id],
                }
            )
    return conflicts


def _blocking(conflicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Conflicts that forbid approval: another partner's protected registration of the customer."""
    return [
        c
        for c in conflicts
        if c["kind"] == ConflictKind.REGISTRATION.value and c.get("protected") and not c.get("same_partner")
    ]


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


async def precheck(uow: UnitOfWork, name: str, tax_id: str | None, web_domain: str | None) -> bool:
    """Whether a registration for this customer would meet a conflict; says nothing of whose."""
    if not uow.access.can(Resource.DEAL_REGISTRATION, Action.CREATE):
        raise Forbidden("Your role may not register deals.")
    v = Validator()
    identity = _customer_identity(v, name, tax_id, web_domain)
    v.raise_if_any()
    conflicts = await find_conflicts(
        uow, identity, exclude_registration=None, partner_organization_id=uow.actor.organization_id
    )
    # A partner's own earlier claims are no conflict to it.
    return any(not c.get("same_partner") for c in conflicts)


async def submit(uow: UnitOfWork, cmd: NewRegistration) -> DealRegistration:
    """Register a deal for the actor's organization; another partner's protected claim rejects it at once."""
    actor = uow.actor
    if not uow.access.can(Resource.DEAL_REGISTRATION, Action.CREATE) or not actor.is_partner or actor.user_id is None:
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
    await _lock_registrations(uow.session, actor.tenant_id)
    conflicts = await find_conflicts(
        uow, identity, exclude_registration=None, partner_organization_id=actor.organization_id
    )
    blocking = _blocking(conflicts)
    registration = DealRegistration(
        tenant_id=actor.tenant_id,
        id=uuid.uuid4(),
        partner_organization_id=actor.organization_id,
        submitted_by_id=actor.user_id,
        customer_name=cmd.customer_name.strip(),
        customer_normalized_name=normalize_company_name(cmd.customer_name)[:200],
        customer_tax_id=identity.tax_id,
        customer_web_domain=identity.web_domain,
        products=products,
        amount=amount,
        currency=currency,
        expected_close_date=cmd.expected_close_date,
        notes=notes,
        conflicts=conflicts,
        status=RegistrationStatus.REJECTED if blocking else RegistrationStatus.SUBMITTED,
        decision_reason="Another partner's registration protects this customer." if blocking else None,
        decided_at=utcnow() if blocking else None,
    )
    uow.session.add(registration)
    await uow.session.flush()
    submitted = {
        "customer_name": registration.customer_name,
        "amount": amount,
        "status": registration.status,
        "conflicts": len(conflicts),
    }
    audit_log.record(
        uow.session,
        uow.access,
        record_type="deal_registration",
        record_id=registration.id,
        action="submitted",
        changes=audit_log.created_changes(submitted),
        reason=registration.decision_reason,
    )
    return registration


@dataclass
class ApprovalChanges:
    """What the channel manager changes while approving; None keeps the partner's value."""

    amount: Decimal | None = None
    expected_close_date: date | None = None
    products: list[str] | None = None
    # An open opportunity the registration is for, instead of opening a new one.
    opportunity_id: uuid.UUID | None = None


async def _decidable(uow: UnitOfWork, registration_id: uuid.UUID) -> DealRegistration:
    if not uow.access.can(Resource.DEAL_REGISTRATION, Action.APPROVE):
        # Partners may see their registrations but not decide them.
        await uow.get(DealRegistration, registration_id)
        raise Forbidden("Only channel managers decide deal registrations.")
    registration = await uow.get(DealRegistration, registration_id, action=Action.APPROVE, for_update=True)
    status = registration.status_at(utcnow())
    if status is not RegistrationStatus.SUBMITTED:
        raise Conflict(
            f"The registration is {status.value}, not awaiting a decision.",
            field="id",
            code=ChannelCode.REGISTRATION_ALREADY_DECIDED,
        )
    return registration


async def approve(
    uow: UnitOfWork, registration_id: uuid.UUID, changes: ApprovalChanges, reason: str | None
) -> DealRegistration:
    """Approve: start the protection window, and create or link the account and the opportunity."""
    actor, session = uow.actor, uow.session
    await _lock_registrations(session, actor.tenant_id)
    registration = await _decidable(uow, registration_id)
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
        uow,
        registration.identity,
        exclude_registration=registration.id,
        partner_organization_id=registration.partner_organization_id,
    )
    if _blocking(conflicts):
        raise Conflict(
            "Another partner's registration already protects this customer.",
            field="id",
            code=ChannelCode.REGISTRATION_CONFLICT,
        )
    days = (await session.execute(select(Tenant.deal_protection_days).where(Tenant.id == actor.tenant_id))).scalar_one()
    now = utcnow()
    # The customer's account is found (or made) across the tenant, as its conflicts were.
    tenant = system_unit_of_work(session, actor.tenant_id, "deal registration approval")
    if changes.opportunity_id is not None:
        opportunity = await uow.get(
            Opportunity, changes.opportunity_id, action=Action.UPDATE, field="opportunityId", for_update=True
        )
        if opportunity.stage.is_closed:
            raise Conflict(
                "A closed opportunity cannot take a registration.",
                field="opportunityId",
                code=ChannelCode.REGISTRATION_OPPORTUNITY_CLOSED,
            )
        account = await tenant.get(Account, opportunity.account_id)
        await _link_partner_team(session, registration, opportunity)
    else:
        account = await _account_for(tenant, registration, conflicts, actor.user_id)
        opportunity = await _opportunity_for(session, registration, account, actor.user_id)
    registration.status = RegistrationStatus.APPROVED
    registration.conflicts = conflicts
    registration.decided_by_id, registration.decided_at, registration.decision_reason = actor.user_id, now, reason
    registration.protection_expires_at = now + timedelta(days=days)
    registration.account_id, registration.opportunity_id = account.id, opportunity.id
    await session.flush()
    audit_log.record(
        session,
        uow.access,
        record_type="deal_registration",
        record_id=registration.id,
        action="approved",
        changes={
            "status": {"old": "submitted", "new": "approved"},
            "protection_expires_at": {"old": None, "new": registration.protection_expires_at.isoformat()},
            "opportunity_id": {"old": None, "new": str(opportunity.id)},
        },
        reason=reason,
    )
    return registration


async def _account_for(
    tenant: UnitOfWork, registration: DealRegistration, conflicts: list[dict[str, Any]], owner_id: uuid.UUID | None
) -> Account:
    """The matching account (strongest match), or a new one managed by the registering partner."""
    session = tenant.session
    matched = [c for c in conflicts if c["kind"] == ConflictKind.ACCOUNT.value]
    if not matched:
        same_name = tenant.visible(Account).where(Account.normalized_name == registration.customer_normalized_name)
        candidates = (await session.execute(same_name)).scalars().all()
        if candidates:
            return candidates[0]
    else:
        found = (await tenant.load(Account, [uuid.UUID(matched[0]["id"])])).get(uuid.UUID(matched[0]["id"]))
        if found is not None:
            return found
    account = Account(
        tenant_id=registration.tenant_id,
        id=uuid.uuid4(),
        name=registration.customer_name,
        normalized_name=registration.customer_normalized_name,
        tax_id=registration.customer_tax_id,
        web_domain=registration.customer_web_domain,
        owner_id=owner_id or registration.submitted_by_id,
        managing_partner_id=registration.partner_organization_id,
        lifecycle_stage=LifecycleStage.PROSPECT,
    )
    session.add(account)
    await session.flush()
    return account


async def _opportunity_for(
    session: AsyncSession, registration: DealRegistration, account: Account, owner_id: uuid.UUID | None
) -> Opportunity:
    """A new opportunity for the registered deal: the partner sourcing it and its submitter on the team."""
    probability, forecast = STAGE_DEFAULTS[Stage.QUALIFICATION]
    opportunity = Opportunity(
        tenant_id=registration.tenant_id,
        id=uuid.uuid4(),
        account_id=account.id,
        name=f"{registration.customer_name}: {', '.join(registration.products)}"[:200],
        owner_id=owner_id or registration.submitted_by_id,
        territory_id=account.territory_id,
        stage=Stage.QUALIFICATION,
        amount=registration.amount,
        currency=registration.currency,
        close_date=registration.expected_close_date,
        probability=probability,
        forecast_category=forecast,
    )
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
                tenant_id=registration.tenant_id,
                opportunity_id=opportunity.id,
                organization_id=registration.partner_organization_id,
                role=PartnerRole.SOURCING,
            )
        )
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
                tenant_id=registration.tenant_id,
                opportunity_id=opportunity.id,
                user_id=registration.submitted_by_id,
                sales_role=SalesRole.PARTNER_REP,
                access=TeamAccess.EDIT,
            )
        )
    await session.flush()


async def reject(uow: UnitOfWork, registration_id: uuid.UUID, reason: str | None) -> DealRegistration:
    """Reject a registration, with the reason the partner will read."""
    v = Validator()
    reason = v.require_text("reason", reason, max_length=2000)
    v.raise_if_any()
    registration = await _decidable(uow, registration_id)
    registration.status = RegistrationStatus.REJECTED
    registration.decided_by_id, registration.decided_at, registration.decision_reason = (
        uow.actor.user_id,
        utcnow(),
        reason,
    )
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="deal_registration",
        record_id=registration.id,
        action="rejected",
        changes={"status": {"old": "submitted", "new": "rejected"}},
        reason=reason,
    )
    return registration


async def withdraw(uow: UnitOfWork, registration_id: uuid.UUID, reason: str | None) -> DealRegistration:
    """The registering partner withdraws its claim; an approved one stops protecting at once."""
    registration = await uow.get(DealRegistration, registration_id, action=Action.UPDATE, for_update=True)
    status = registration.status_at(utcnow())
    if status not in (RegistrationStatus.SUBMITTED, RegistrationStatus.APPROVED):
        expired = status is RegistrationStatus.EXPIRED
        code = ChannelCode.REGISTRATION_EXPIRED if expired else ChannelCode.REGISTRATION_CLOSED
        raise Conflict(f"A {status.value} registration cannot be withdrawn.", field="id", code=code)
    registration.status = RegistrationStatus.WITHDRAWN
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="deal_registration",
        record_id=registration.id,
        action="withdrawn",
        changes={"status": {"old": status.value, "new": "withdrawn"}},
        reason=reason,
    )
    return registration


def _extension_refused(registration: DealRegistration) -> Conflict:
    """The refusal of an extension for a registration that does not protect its claim right now."""
    expired = registration.status_at(utcnow()) is RegistrationStatus.EXPIRED
    code = ChannelCode.REGISTRATION_EXPIRED if expired else ChannelCode.REGISTRATION_NOT_APPROVED
    return Conflict("Only an approved, still protected registration can be extended.", field="id", code=code)


async def request_extension(
    uow: UnitOfWork, registration_id: uuid.UUID, days: int, reason: str | None
) -> DealRegistration:
    """The partner asks for more protection time on an approved registration."""
    v = Validator()
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        v.fail("days", ErrorCode.OUT_OF_RANGE, f"days must be between 1 and {MAX_EXTENSION_DAYS}.")
    reason = v.require_text("reason", reason, max_length=2000)
    v.raise_if_any()
    registration = await uow.get(DealRegistration, registration_id, action=Action.UPDATE, for_update=True)
    if registration.status_at(utcnow()) is not RegistrationStatus.APPROVED:
        raise _extension_refused(registration)
    registration.extension_requested_days, registration.extension_reason = days, reason
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="deal_registration",
        record_id=registration.id,
        action="extension_requested",
        changes={"extension_requested_days": {"old": None, "new": days}},
        reason=reason,
    )
    return registration


async def decide_extension(
    uow: UnitOfWork, registration_id: uuid.UUID, grant_days: int, reason: str | None
) -> DealRegistration:
    """The channel manager extends protection by `grant_days` (0 declines the request)."""
    if not uow.access.can(Resource.DEAL_REGISTRATION, Action.APPROVE):
        raise Forbidden("Only channel managers extend protection.")
    v = Validator()
    if not 0 <= grant_days <= MAX_EXTENSION_DAYS:
        v.fail("days", ErrorCode.OUT_OF_RANGE, f"days must be between 0 and {MAX_EXTENSION_DAYS}.")
    v.raise_if_any()
    registration = await uow.get(DealRegistration, registration_id, action=Action.APPROVE, for_update=True)
    before = registration.protection_expires_at
    if registration.status_at(utcnow()) is not RegistrationStatus.APPROVED or before is None:
        raise _extension_refused(registration)
    registration.protection_expires_at = before + timedelta(days=grant_days)
    registration.extension_requested_days = None
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="deal_registration",
        record_id=registration.id,
        action="extension_granted" if grant_days else "extension_declined",
        changes={
            "protection_expires_at": {
                "old": before.isoformat(),
                "new": registration.protection_expires_at.isoformat(),
            }
        },
        reason=reason,
    )
    return registration


async def expire_due(session: AsyncSession, now: datetime | None = None) -> int:
    """Mark approved registrations whose protection ran out as expired (the scheduled job, every tenant); how many."""
    now = now or utcnow()
    result = await session.execute(
        across_tenants(
            update(DealRegistration)
            .where(
                DealRegistration.status == RegistrationStatus.APPROVED, DealRegistration.protection_expires_at <= now
            )
            .values(status=RegistrationStatus.EXPIRED, updated_at=func.now())
            .execution_options(synchronize_session=False),
            "the scheduled job expires lapsed deal registrations of every tenant",
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def set_protection_days(uow: UnitOfWork, days: int) -> int:
    """Change how long new approvals protect (tenant setting, admin only)."""
    if not uow.access.can(Resource.POLICY, Action.UPDATE):
        raise Forbidden("Only admins change tenant settings.")
    if not 1 <= days <= 730:
        v = Validator()
        v.fail("days", ErrorCode.OUT_OF_RANGE, "days must be between 1 and 730.")
        v.raise_if_any()
    tenant = await uow.session.get(Tenant, uow.tenant_id, with_for_update=True)
    assert tenant is not None
    before = tenant.deal_protection_days
    tenant.deal_protection_days = days
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="tenant",
        record_id=tenant.id,
        action="settings_changed",
        changes={"deal_protection_days": {"old": before, "new": days}},
    )
    return days


# --- Queries ---------------------------------------------------------------------------------


def visible_registrations(
    uow: UnitOfWork,
    *,
    status: RegistrationStatus | None = None,
    partner_id: uuid.UUID | None = None,
    protection_expires_before: datetime | None = None,
) -> Select[tuple[DealRegistration]]:
    """The registrations the actor may see, narrowed by status, partner and end of protection when asked."""
    stmt = uow.visible(DealRegistration)
    if status is not None:
        stmt = stmt.where(DealRegistration.status == status)
    if partner_id is not None:
        stmt = stmt.where(DealRegistration.partner_organization_id == partner_id)
    if protection_expires_before is not None:
        stmt = stmt.where(DealRegistration.protection_expires_at < protection_expires_before)
    return stmt


def conflicts_shown_to(access: Access, registration: DealRegistration) -> list[dict[str, Any]]:
    """What a registration clashes with: channel managers' only, since it names other partners' business."""
    if not access.can(Resource.DEAL_REGISTRATION, Action.APPROVE):
        raise Forbidden("Conflicts name other partners' business; only channel managers read them.")
    return list(registration.conflicts)
