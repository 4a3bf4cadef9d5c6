"""Leads: prospective customers from forms, partners and people, with duplicates flagged and merged,
and conversion into an account, a contact and an opportunity."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ARRAY,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    Uuid,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Access, Action, Resource
from domain.access.visibility import get_or_raise
from domain.audit import trail as audit_log
from domain.selling.accounts import Account, Contact, LifecycleStage
from domain.selling.customer_matching import (
    CompanyIdentity,
    company_email_domain,
    identity_of,
    matches_among,
    validate_tax_id,
)
from domain.selling.opportunities import (
    STAGE_DEFAULTS,
    Opportunity,
    OpportunityPartner,
    PartnerRole,
    Stage,
)
from domain.selling.territories import Territory
from domain.shared.base import Base, TenantScoped, Timestamped
from domain.shared.errors import Conflict, ErrorCode, Forbidden, Validator
from domain.shared.money import check_amount, check_currency

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class LeadSource(StrEnum):
    WEB_FORM = "web_form"
    API = "api"
    PARTNER = "partner"
    EVENT = "event"
    REFERRAL = "referral"
    IMPORT = "import"


class LeadStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"  # to an internal user
    OFFERED = "offered"  # to a partner, awaiting accept or decline
    ACCEPTED = "accepted"  # by the partner
    UNROUTED = "unrouted"  # no rule found anyone
    CONVERTED = "converted"
    MERGED = "merged"
    DISQUALIFIED = "disqualified"

    @property
    def is_open(self) -> bool:
        return self not in (LeadStatus.CONVERTED, LeadStatus.MERGED, LeadStatus.DISQUALIFIED)


class Lead(TenantScoped, Timestamped, Base):
    """A prospective customer and the person who asked, with where it came from and who works it."""

    __tablename__ = "lead"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["app_user.tenant_id", "app_user.id"]),
        ForeignKeyConstraint(["tenant_id", "partner_organization_id"], ["organization.tenant_id", "organization.id"]),
        ForeignKeyConstraint(["tenant_id", "territory_id"], ["territory.tenant_id", "territory.id"]),
        Index("ix_lead_owner", "tenant_id", "owner_id"),
        Index("ix_lead_partner", "tenant_id", "partner_organization_id"),
        Index("ix_lead_status", "tenant_id", "status", "offer_expires_at"),
        Index("ix_lead_name", "tenant_id", "normalized_name", postgresql_ops={"normalized_name": "text_pattern_ops"}),
    )

    company_name: Mapped[str] = mapped_column(String(200))
    normalized_name: Mapped[str] = mapped_column(String(200))
    tax_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    web_domain: Mapped[str | None] = mapped_column(String(253), nullable=True)
    email_domain: Mapped[str | None] = mapped_column(String(253), nullable=True)
    first_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    interests: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[LeadSource] = mapped_column(Enum(LeadSource, name="lead_source"))
    source_detail: Mapped[str | None] = mapped_column(String(200), nullable=True)
    territory_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    status: Mapped[LeadStatus] = mapped_column(Enum(LeadStatus, name="lead_status"), default=LeadStatus.NEW)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    partner_organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    offer_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    declined_by: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    duplicates: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    converted_account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    converted_contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    converted_opportunity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)

    @property
    def identity(self) -> CompanyIdentity:
        return CompanyIdentity(self.normalized_name, self.tax_id, self.web_domain, self.email_domain)


@dataclass
class NewLead:
    """What is known of a prospective customer when the lead comes in."""

    company_name: str
    last_name: str
    source: LeadSource
    first_name: str | None = None
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    tax_id: str | None = None
    web_domain: str | None = None
    interests: list[str] | None = None
    message: str | None = None
    source_detail: str | None = None
    territory_id: uuid.UUID | None = None


def validated_lead(v: Validator, cmd: NewLead) -> dict[str, Any]:
    """Field values of a new lead, with every problem recorded on `v`."""
    import re

    company = v.require_text("companyName", cmd.company_name, max_length=200)
    last_name = v.require_text("lastName", cmd.last_name, max_length=100)
    email = v.require_text("email", cmd.email, max_length=320, required=False)
    if email and not re.match(EMAIL_PATTERN, email):
        v.fail("email", ErrorCode.INVALID, "email must be an e-mail address such as name@example.com.")
    tax_id = None
    if cmd.tax_id and cmd.tax_id.strip():
        try:
            tax_id = validate_tax_id(cmd.tax_id)
        except Exception as exc:  # noqa: BLE001 - a ValidationFailed, reported under this field
            v.fail("taxId", ErrorCode.INVALID, getattr(exc, "message", "taxId is not valid."))
    web_domain = v.require_text("webDomain", cmd.web_domain, max_length=253, required=False)
    identity = identity_of(company or "", tax_id, web_domain, email)
    interests = sorted({i.lower() for i in v.require_texts("interests", cmd.interests, max_length=100, max_items=20)})
    return {
        "company_name": company, "normalized_name": identity.name[:200], "tax_id": tax_id,
        "web_domain": identity.web_domain, "email_domain": company_email_domain(email),
        "first_name": v.require_text("firstName", cmd.first_name, max_length=100, required=False),
        "last_name": last_name, "email": email.lower() if email else None,
        "phone": v.require_text("phone", cmd.phone, max_length=50, required=False),
        "title": v.require_text("title", cmd.title, max_length=200, required=False),
        "interests": interests, "message": v.require_text("message", cmd.message, max_length=5000, required=False),
        "source": cmd.source, "source_detail": v.require_text("sourceDetail", cmd.source_detail, max_length=200,
                                                              required=False),
        "territory_id": cmd.territory_id,
    }  # fmt: skip


def candidate_filter(model: Any, identity: CompanyIdentity) -> Any:
    """A cheap SQL pre-filter for records that might match: same tax id or domain, or a shared name prefix.

    Only these few are scored in Python, so matching stays fast on large tenants; the cost is that a
    typo within a name's first three characters is not caught by name alone.
    """
    conditions = [model.normalized_name.startswith(identity.name[:3], autoescape=True)] if identity.name else []
    if identity.tax_id:
        conditions.append(model.tax_id == identity.tax_id)
    for domain in {d for d in (identity.web_domain, identity.email_domain) if d}:
        conditions.append(model.web_domain == domain)
        if hasattr(model, "email_domain"):
            conditions.append(model.email_domain == domain)
    return or_(*conditions) if conditions else model.id.is_(None)


async def find_duplicates(
    session: AsyncSession, tenant_id: uuid.UUID, identity: CompanyIdentity, exclude: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """Open leads and accounts that look like the same company, with their reasons."""
    leads = (
        await session.execute(
            select(Lead).where(
                Lead.tenant_id == tenant_id, Lead.status.in_([s for s in LeadStatus if s.is_open]),
                Lead.id != exclude if exclude else True, candidate_filter(Lead, identity),
            )
        )
    ).scalars().all()  # fmt: skip
    accounts = (
        (
            await session.execute(
                select(Account).where(Account.tenant_id == tenant_id, candidate_filter(Account, identity))
            )
        )
        .scalars()
        .all()
    )
    found: list[dict[str, Any]] = []
    for lead, matched in matches_among(identity, [(x, x.identity) for x in leads]):
        found.append({"kind": "lead", "id": str(lead.id), "name": lead.company_name,
                      "reasons": [m.detail for m in matched]})  # fmt: skip
    account_identities = [(a, CompanyIdentity(a.normalized_name, a.tax_id, a.web_domain)) for a in accounts]
    for account, matched in matches_among(identity, account_identities):
        found.append({"kind": "account", "id": str(account.id), "name": account.name,
                      "reasons": [m.detail for m in matched]})  # fmt: skip
    return found


async def create_lead(session: AsyncSession, access: Access | None, tenant_id: uuid.UUID, cmd: NewLead) -> Lead:
    """Record a lead, flagging duplicates; `access` is None for the public web form (no signed-in actor)."""
    if access is not None and not access.can(Resource.LEAD, Action.CREATE):
        raise Forbidden("Your role may not create leads.")
    v = Validator()
    values = validated_lead(v, cmd)
    if cmd.territory_id is not None:
        found = (
            await session.execute(
                select(Territory.id).where(Territory.tenant_id == tenant_id, Territory.id == cmd.territory_id)
            )
        ).scalar_one_or_none()
        if found is None:
            v.fail("territoryId", ErrorCode.NOT_FOUND, "No territory with that territoryId.")
    v.raise_if_any()
    actor = access.actor if access else None
    lead = Lead(tenant_id=tenant_id, id=uuid.uuid4(), status=LeadStatus.NEW, declined_by=[], **values)
    if actor is not None:
        lead.created_by_id = actor.user_id
        if actor.is_partner:
            # A partner's own lead stays with the partner that found it.
            lead.partner_organization_id, lead.status, lead.source = (
                actor.organization_id, LeadStatus.ACCEPTED, LeadSource.PARTNER,
            )  # fmt: skip
    lead.duplicates = await find_duplicates(session, tenant_id, lead.identity)
    session.add(lead)
    await session.flush()
    if access is not None:
        audit_log.record(
            session, access, record_type="lead", record_id=lead.id, action="created",
            changes=audit_log.created_changes({"company_name": lead.company_name, "source": lead.source,
                                               "duplicates": len(lead.duplicates)}),
        )  # fmt: skip
    return lead


async def merge_lead(session: AsyncSession, access: Access, lead_id: uuid.UUID, into_id: uuid.UUID) -> Lead:
    """Merge a duplicate lead into another: the survivor keeps its values and gains the missing ones."""
    if lead_id == into_id:
        v = Validator()
        v.fail("intoId", ErrorCode.INVALID, "A lead cannot be merged into itself.")
        v.raise_if_any()
    duplicate = await get_or_raise(session, access, Lead, Resource.LEAD, lead_id, action=Action.UPDATE, for_update=True)
    survivor = await get_or_raise(
        session, access, Lead, Resource.LEAD, into_id, action=Action.UPDATE, field="intoId", for_update=True
    )
    for lead, field in ((duplicate, "id"), (survivor, "intoId")):
        if not lead.status.is_open:
            raise Conflict(f"A {lead.status.value} lead cannot be merged.", field=field)
    filled = {}
    for attr in ("first_name", "email", "phone", "title", "tax_id", "web_domain", "email_domain", "message"):
        if getattr(survivor, attr) is None and getattr(duplicate, attr) is not None:
            filled[attr] = getattr(duplicate, attr)
    interests = sorted(set(survivor.interests) | set(duplicate.interests))
    if interests != sorted(survivor.interests):
        filled["interests"] = interests
    await audit_log.apply_and_record(session, access, survivor, "lead", filled)
    duplicate.status, duplicate.merged_into_id = LeadStatus.MERGED, survivor.id
    survivor.duplicates = [d for d in survivor.duplicates if d["id"] != str(duplicate.id)]
    await session.flush()
    audit_log.record(
        session, access, record_type="lead", record_id=duplicate.id, action="merged",
        changes={"merged_into_id": {"old": None, "new": str(survivor.id)}},
    )  # fmt: skip
    return survivor


@dataclass
class Conversion:
    """How to convert a lead: into a new account or an existing one, and the opportunity to open."""

    opportunity_name: str | None
    amount: Any
    currency: str
    close_date: Any
    account_id: uuid.UUID | None = None


async def convert_lead(session: AsyncSession, access: Access, lead_id: uuid.UUID, cmd: Conversion) -> Lead:
    """Turn a lead into an account (new or existing), a contact and an opportunity, keeping source and partner."""
    actor = access.actor
    lead = await get_or_raise(session, access, Lead, Resource.LEAD, lead_id, action=Action.UPDATE, for_update=True)
    if not lead.status.is_open:
        raise Conflict(f"A {lead.status.value} lead cannot be converted.", field="id")
    if not (access.can(Resource.ACCOUNT, Action.CREATE) and access.can(Resource.OPPORTUNITY, Action.CREATE)):
        raise Forbidden("Your role may not create the account and opportunity a conversion makes.")
    v = Validator()
    amount = check_amount(v, "amount", cmd.amount)
    currency = check_currency(v, "currency", cmd.currency)
    if cmd.close_date is None:
        v.fail("closeDate", ErrorCode.REQUIRED, "closeDate is required.")
    name = v.require_text(
        "opportunityName", cmd.opportunity_name or f"{lead.company_name}: new business", max_length=200
    )
    v.raise_if_any()
    owner_id = actor.user_id or lead.owner_id
    if owner_id is None:
        raise Forbidden("A conversion needs a person to own the opportunity.")
    if cmd.account_id is not None:
        account = await get_or_raise(session, access, Account, Resource.ACCOUNT, cmd.account_id, field="accountId")
    else:
        account = Account(
            tenant_id=lead.tenant_id, id=uuid.uuid4(), name=lead.company_name, normalized_name=lead.normalized_name,
            tax_id=lead.tax_id, web_domain=lead.web_domain or lead.email_domain, owner_id=owner_id,
            territory_id=lead.territory_id, managing_partner_id=lead.partner_organization_id,
            lifecycle_stage=LifecycleStage.PROSPECT,
        )  # fmt: skip
        session.add(account)
    contact = Contact(
        tenant_id=lead.tenant_id, id=uuid.uuid4(), account_id=account.id, first_name=lead.first_name or "",
        last_name=lead.last_name, email=lead.email, phone=lead.phone, title=lead.title,
    )  # fmt: skip
    session.add(contact)
    probability, forecast = STAGE_DEFAULTS[Stage.QUALIFICATION]
    opportunity = Opportunity(
        tenant_id=lead.tenant_id, id=uuid.uuid4(), account_id=account.id, name=name, owner_id=owner_id,
        territory_id=account.territory_id, stage=Stage.QUALIFICATION, amount=amount, currency=currency,
        close_date=cmd.close_date, probability=probability, forecast_category=forecast,
        source=f"lead:{lead.source.value}" + (f":{lead.source_detail}" if lead.source_detail else ""),
    )  # fmt: skip
    session.add(opportunity)
    await session.flush()
    if lead.partner_organization_id is not None:
        session.add(
            OpportunityPartner(
                tenant_id=lead.tenant_id, opportunity_id=opportunity.id,
                organization_id=lead.partner_organization_id, role=PartnerRole.SOURCING,
            )
        )  # fmt: skip
    lead.status = LeadStatus.CONVERTED
    lead.converted_account_id, lead.converted_contact_id, lead.converted_opportunity_id = (
        account.id, contact.id, opportunity.id,
    )  # fmt: skip
    await session.flush()
    audit_log.record(
        session, access, record_type="lead", record_id=lead.id, action="converted",
        changes={"account_id": {"old": None, "new": str(account.id)},
                 "opportunity_id": {"old": None, "new": str(opportunity.id)}},
    )  # fmt: skip
    return lead
