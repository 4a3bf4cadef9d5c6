"""Leads: prospective customers from forms, partners and people, with duplicates flagged and merged,
and conversion into an account, a contact and an opportunity."""

from __future__ import annotations

import re
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
    Select,
    String,
    Text,
    Uuid,
    or_,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import Protected, UnitOfWork, system_unit_of_work
from domain.audit import trail as audit_log
from domain.channel.codes import ChannelCode
from domain.channel.organizations import tenant_territory_ids
from domain.selling.accounts import Account, LifecycleStage
from domain.selling.contacts import Contact
from domain.selling.customer_matching import (
    CompanyIdentity,
    company_email_domain,
    identity_of,
    matches_among,
    validate_tax_id,
)
from domain.selling.opportunities import Opportunity, OpportunityPartner, PartnerRole
from domain.selling.stages import STAGE_DEFAULTS, Stage
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


class Lead(Protected, TenantScoped, Timestamped, Base):
    """A prospective customer and the person who asked, with where it came from and who works it."""

    __resource__ = Resource.LEAD

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
        "company_name": company,
        "normalized_name": identity.name[:200],
        "tax_id": tax_id,
        "web_domain": identity.web_domain,
        "email_domain": company_email_domain(email),
        "first_name": v.require_text("firstName", cmd.first_name, max_length=100, required=False),
        "last_name": last_name,
        "email": email.lower() if email else None,
        "phone": v.require_text("phone", cmd.phone, max_length=50, required=False),
        "title": v.require_text("title", cmd.title, max_length=200, required=False),
        "interests": interests,
        "message": v.require_text("message", cmd.message, max_length=5000, required=False),
        "source": cmd.source,
        "source_detail": v.require_text("sourceDetail", cmd.source_detail, max_length=200, required=False),
        "territory_id": cmd.territory_id,
    }


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
    uow: UnitOfWork, identity: CompanyIdentity, exclude: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """Open leads and accounts that look like the same company, with their reasons.

    This reads the whole tenant on purpose (a duplicate is one whoever may see it); the `duplicates` field
    shows each reader only the records they may see.
    """
    tenant = system_unit_of_work(uow.session, uow.tenant_id, "lead duplicate matching")
    open_leads = tenant.visible(Lead).where(
        Lead.status.in_([s for s in LeadStatus if s.is_open]), candidate_filter(Lead, identity)
    )
    if exclude is not None:
        open_leads = open_leads.where(Lead.id != exclude)
    leads = (await uow.session.execute(open_leads)).scalars().all()
    accounts_like = tenant.visible(Account).where(candidate_filter(Account, identity))
    accounts = (await uow.session.execute(accounts_like)).scalars().all()
    found: list[dict[str, Any]] = []
    for lead, matched in matches_among(identity, [(x, x.identity) for x in leads]):
        reasons = [m.detail for m in matched]
        found.append({"kind": "lead", "id": str(lead.id), "name": lead.company_name, "reasons": reasons})
    account_identities = [(a, CompanyIdentity(a.normalized_name, a.tax_id, a.web_domain)) for a in accounts]
    for account, matched in matches_among(identity, account_identities):
        reasons = [m.detail for m in matched]
        found.append({"kind": "account", "id": str(account.id), "name": account.name, "reasons": reasons})
    return found


async def _new_lead(uow: UnitOfWork, cmd: NewLead) -> Lead:
    """A validated new lead of the unit's tenant, not yet added; every bad field is reported at once."""
    v = Validator()
    values = validated_lead(v, cmd)
    if cmd.territory_id is not None and not await tenant_territory_ids(uow, {cmd.territory_id}):
        v.fail("territoryId", ErrorCode.NOT_FOUND, "No territory with that territoryId.")
    v.raise_if_any()
    return Lead(tenant_id=uow.tenant_id, id=uuid.uuid4(), status=LeadStatus.NEW, declined_by=[], **values)


async def _flag_and_add(uow: UnitOfWork, lead: Lead) -> None:
    lead.duplicates = await find_duplicates(uow, lead.identity)
    uow.session.add(lead)
    await uow.session.flush()


async def create_lead(uow: UnitOfWork, cmd: NewLead) -> Lead:
    """Record a lead the actor enters, flagging duplicates; a partner's own lead stays with the partner that found it.

    Routing an internal lead is the service's (services.channel.create_lead).
    """
    if not uow.access.can(Resource.LEAD, Action.CREATE):
        raise Forbidden("Your role may not create leads.")
    lead = await _new_lead(uow, cmd)
    actor = uow.actor
    lead.created_by_id = actor.user_id
    if actor.is_partner:
        lead.partner_organization_id, lead.status, lead.source = (
            actor.organization_id,
            LeadStatus.ACCEPTED,
            LeadSource.PARTNER,
        )
    await _flag_and_add(uow, lead)
    created = {"company_name": lead.company_name, "source": lead.source, "duplicates": len(lead.duplicates)}
    audit_log.record(
        uow.session,
        uow.access,
        record_type="lead",
        record_id=lead.id,
        action="created",
        changes=audit_log.created_changes(created),
    )
    return lead


async def receive_lead(uow: UnitOfWork, cmd: NewLead) -> Lead:
    """Record a lead that came in with nobody signed in (a web form, a demo load), flagging duplicates.

    The unit is a system unit of the lead's tenant; the lead is nobody's creation, so no one is audited for it.
    """
    lead = await _new_lead(uow, cmd)
    await _flag_and_add(uow, lead)
    return lead


def _require_open(lead: Lead, field: str, doing: str) -> None:
    if not lead.status.is_open:
        raise Conflict(f"A {lead.status.value} lead cannot be {doing}.", field=field, code=ChannelCode.LEAD_CLOSED)


async def merge_lead(uow: UnitOfWork, lead_id: uuid.UUID, into_id: uuid.UUID) -> Lead:
    """Merge a duplicate lead into another: the survivor keeps its values and gains the missing ones."""
    if lead_id == into_id:
        v = Validator()
        v.fail("intoId", ErrorCode.INVALID, "A lead cannot be merged into itself.")
        v.raise_if_any()
    duplicate = await uow.get(Lead, lead_id, action=Action.UPDATE, for_update=True)
    survivor = await uow.get(Lead, into_id, action=Action.UPDATE, field="intoId", for_update=True)
    _require_open(duplicate, "id", "merged")
    _require_open(survivor, "intoId", "merged")
    filled = {}
    for attr in ("first_name", "email", "phone", "title", "tax_id", "web_domain", "email_domain", "message"):
        if getattr(survivor, attr) is None and getattr(duplicate, attr) is not None:
            filled[attr] = getattr(duplicate, attr)
    interests = sorted(set(survivor.interests) | set(duplicate.interests))
    if interests != sorted(survivor.interests):
        filled["interests"] = interests
    await audit_log.apply_and_record(uow.session, uow.access, survivor, "lead", filled)
    duplicate.status, duplicate.merged_into_id = LeadStatus.MERGED, survivor.id
    survivor.duplicates = [d for d in survivor.duplicates if d["id"] != str(duplicate.id)]
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="lead",
        record_id=duplicate.id,
        action="merged",
        changes={"merged_into_id": {"old": None, "new": str(survivor.id)}},
    )
    return survivor


@dataclass
class Conversion:
    """How to convert a lead: into a new account or an existing one, and the opportunity to open."""

    opportunity_name: str | None
    amount: Any
    currency: str
    close_date: Any
    account_id: uuid.UUID | None = None


async def convert_lead(uow: UnitOfWork, lead_id: uuid.UUID, cmd: Conversion) -> Lead:
    """Turn a lead into an account (new or existing), a contact and an opportunity, keeping source and partner."""
    access, session = uow.access, uow.session
    lead = await uow.get(Lead, lead_id, action=Action.UPDATE, for_update=True)
    _require_open(lead, "id", "converted")
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
    owner_id = uow.actor.user_id or lead.owner_id
    if owner_id is None:
        raise Forbidden("A conversion needs a person to own the opportunity.")
    if cmd.account_id is not None:
        account = await uow.get(Account, cmd.account_id, field="accountId")
    else:
        account = Account(
            tenant_id=lead.tenant_id,
            id=uuid.uuid4(),
            name=lead.company_name,
            normalized_name=lead.normalized_name,
            tax_id=lead.tax_id,
            web_domain=lead.web_domain or lead.email_domain,
            owner_id=owner_id,
            territory_id=lead.territory_id,
            managing_partner_id=lead.partner_organization_id,
            lifecycle_stage=LifecycleStage.PROSPECT,
        )
        session.add(account)
    contact = Contact(
        tenant_id=lead.tenant_id,
        id=uuid.uuid4(),
        account_id=account.id,
        first_name=lead.first_name or "",
        last_name=lead.last_name,
        email=lead.email,
        phone=lead.phone,
        title=lead.title,
    )
    session.add(contact)
    probability, forecast = STAGE_DEFAULTS[Stage.QUALIFICATION]
    opportunity = Opportunity(
        tenant_id=lead.tenant_id,
        id=uuid.uuid4(),
        account_id=account.id,
        name=name,
        owner_id=owner_id,
        territory_id=account.territory_id,
        stage=Stage.QUALIFICATION,
        amount=amount,
        currency=currency,
        close_date=cmd.close_date,
        probability=probability,
        forecast_category=forecast,
        source=f"lead:{lead.source.value}" + (f":{lead.source_detail}" if lead.source_detail else ""),
    )
    session.add(opportunity)
    await session.flush()
    if lead.partner_organization_id is not None:
        session.add(
            OpportunityPartner(
                tenant_id=lead.tenant_id,
                opportunity_id=opportunity.id,
                organization_id=lead.partner_organization_id,
                role=PartnerRole.SOURCING,
            )
        )
    lead.status = LeadStatus.CONVERTED
    lead.converted_account_id = account.id
    lead.converted_contact_id = contact.id
    lead.converted_opportunity_id = opportunity.id
    await session.flush()
    audit_log.record(
        session,
        access,
        record_type="lead",
        record_id=lead.id,
        action="converted",
        changes={
            "account_id": {"old": None, "new": str(account.id)},
            "opportunity_id": {"old": None, "new": str(opportunity.id)},
        },
    )
    return lead


# --- Queries ---------------------------------------------------------------------------------


def visible_leads(
    uow: UnitOfWork, *, status: LeadStatus | None = None, partner_id: uuid.UUID | None = None
) -> Select[tuple[Lead]]:
    """The leads the actor may see, narrowed to a status and to one partner when asked (unordered)."""
    stmt = uow.visible(Lead)
    if status is not None:
        stmt = stmt.where(Lead.status == status)
    if partner_id is not None:
        stmt = stmt.where(Lead.partner_organization_id == partner_id)
    return stmt
