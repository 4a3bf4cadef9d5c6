"""The buying centre of an opportunity (its contacts, their roles and attitudes) and its competitors."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import Enum, ForeignKeyConstraint, String, Text, UniqueConstraint, Uuid, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Access, Action, Resource
from domain.access.visibility import get_or_raise
from domain.audit import trail as audit_log
from domain.selling.accounts import BuyingRole, Contact
from domain.selling.opportunities import Opportunity, editable_opportunity_or_raise
from domain.shared.base import Base, TenantScoped, Timestamped
from domain.shared.errors import ErrorCode, Forbidden, NotFound, Validator


class Attitude(StrEnum):
    SUPPORTER = "supporter"
    NEUTRAL = "neutral"
    SKEPTIC = "skeptic"
    OPPONENT = "opponent"
    UNKNOWN = "unknown"


class CompetitorStatus(StrEnum):
    ACTIVE = "active"
    ELIMINATED = "eliminated"
    PREFERRED = "preferred"


class OpportunityContact(TenantScoped, Timestamped, Base):
    """A contact's part in one opportunity's buying decision."""

    __tablename__ = "opportunity_contact"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "opportunity_id"], ["opportunity.tenant_id", "opportunity.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contact.tenant_id", "contact.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "opportunity_id", "contact_id"),
    )

    opportunity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    role: Mapped[BuyingRole] = mapped_column(Enum(BuyingRole, name="buying_role", create_type=False))
    attitude: Mapped[Attitude] = mapped_column(Enum(Attitude, name="buying_attitude"))


class OpportunityCompetitor(TenantScoped, Timestamped, Base):
    """A competitor in one deal; internal only."""

    __tablename__ = "opportunity_competitor"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "opportunity_id"], ["opportunity.tenant_id", "opportunity.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "opportunity_id", "name"),
    )

    opportunity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[CompetitorStatus] = mapped_column(Enum(CompetitorStatus, name="competitor_status"))
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)


async def set_contact_role(
    session: AsyncSession,
    access: Access,
    opportunity_id: uuid.UUID,
    contact_id: uuid.UUID,
    role: BuyingRole,
    attitude: Attitude,
) -> Opportunity:
    """Put a contact of the opportunity's account in its buying centre, or change their role and attitude."""
    opportunity = await editable_opportunity_or_raise(session, access, opportunity_id, field="opportunityId")
    contact = await get_or_raise(session, access, Contact, Resource.CONTACT, contact_id, field="contactId")
    if contact.account_id != opportunity.account_id:
        v = Validator()
        v.fail("contactId", ErrorCode.INVALID, "The contact works for another account than the opportunity's.")
        v.raise_if_any()
    existing = (
        await session.execute(
            select(OpportunityContact).where(
                OpportunityContact.tenant_id == opportunity.tenant_id,
                OpportunityContact.opportunity_id == opportunity.id,
                OpportunityContact.contact_id == contact.id,
            )
        )
    ).scalar_one_or_none()
    before = {"role": existing.role, "attitude": existing.attitude} if existing else {"role": None, "attitude": None}
    if existing is None:
        session.add(OpportunityContact(tenant_id=opportunity.tenant_id, id=uuid.uuid4(), opportunity_id=opportunity.id,
                                       contact_id=contact.id, role=role, attitude=attitude))  # fmt: skip
    else:
        existing.role, existing.attitude = role, attitude
    await session.flush()
    changes = audit_log.diff(before, {"role": role, "attitude": attitude})
    if changes:
        audit_log.record(session, access, record_type="opportunity", record_id=opportunity.id,
                         action="buying_centre_changed", changes={f"contact {contact.id}": {
                             "old": {k: v["old"] for k, v in changes.items()},
                             "new": {k: v["new"] for k, v in changes.items()}}})  # fmt: skip
    return opportunity


async def remove_contact(
    session: AsyncSession, access: Access, opportunity_id: uuid.UUID, contact_id: uuid.UUID
) -> Opportunity:
    """Take a contact out of the opportunity's buying centre."""
    opportunity = await editable_opportunity_or_raise(session, access, opportunity_id, field="opportunityId")
    row = (
        await session.execute(
            select(OpportunityContact).where(
                OpportunityContact.tenant_id == opportunity.tenant_id,
                OpportunityContact.opportunity_id == opportunity.id,
                OpportunityContact.contact_id == contact_id,
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("That contact is not in the buying centre.", field="contactId")
    await session.delete(row)
    await session.flush()
    audit_log.record(session, access, record_type="opportunity", record_id=opportunity.id,
                     action="buying_centre_changed", changes={f"contact {contact_id}": {
                         "old": {"role": row.role.value, "attitude": row.attitude.value}, "new": None}})  # fmt: skip
    return opportunity


def _require_internal(access: Access) -> None:
    if not access.can(Resource.OPPORTUNITY_INTERNAL, Action.UPDATE):
        raise Forbidden("Competitors are internal-only; your role may not change them.")


async def set_competitor(
    session: AsyncSession,
    access: Access,
    opportunity_id: uuid.UUID,
    name: str,
    status: CompetitorStatus,
    notes: str | None,
) -> Opportunity:
    """Record a competitor in the deal, or update its status and notes (internal roles only)."""
    _require_internal(access)
    opportunity = await editable_opportunity_or_raise(session, access, opportunity_id, field="opportunityId")
    v = Validator()
    clean = v.require_text("name", name, max_length=200)
    clean_notes = v.require_text("notes", notes, max_length=5000, required=False)
    v.raise_if_any()
    existing = (
        await session.execute(
            select(OpportunityCompetitor).where(
                OpportunityCompetitor.tenant_id == opportunity.tenant_id,
                OpportunityCompetitor.opportunity_id == opportunity.id,
                OpportunityCompetitor.name == clean,
            )
        )
    ).scalar_one_or_none()
    if existing is None:
        session.add(OpportunityCompetitor(tenant_id=opportunity.tenant_id, id=uuid.uuid4(),
                                          opportunity_id=opportunity.id, name=clean, status=status,
                                          notes=clean_notes))  # fmt: skip
        old = None
    else:
        old = {"status": existing.status.value, "notes": existing.notes}
        existing.status, existing.notes = status, clean_notes
    await session.flush()
    new = {"status": status.value, "notes": clean_notes}
    audit_log.record(session, access, record_type="opportunity", record_id=opportunity.id, action="competitor_set",
                     changes={f"competitor {clean}": {"old": old, "new": new}})  # fmt: skip
    return opportunity
