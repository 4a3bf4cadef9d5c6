"""The buying centre of an opportunity (its contacts, their roles and attitudes) and its competitors."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import Enum, ForeignKeyConstraint, String, Text, UniqueConstraint, Uuid, select
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Access, Action, Resource
from domain.access.unit_of_work import UnitOfWork
from domain.audit import trail as audit_log
from domain.selling.contacts import BuyingRole, Contact
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
    uow: UnitOfWork, opportunity_id: uuid.UUID, contact_id: uuid.UUID, role: BuyingRole, attitude: Attitude
) -> Opportunity:
    """Put a contact of the opportunity's account in its buying centre, or change their role and attitude."""
    session = uow.session
    opportunity = await editable_opportunity_or_raise(uow, opportunity_id, field="opportunityId")
    contact = await uow.get(Contact, contact_id, field="contactId")
    if contact.account_id != opportunity.account_id:
        v = Validator()
        v.fail("contactId", ErrorCode.INVALID, "The contact works for another account than the opportunity's.")
        v.raise_if_any()
    existing = await _buying_centre_seat(uow, opportunity, contact.id)
    before = {"role": existing.role, "attitude": existing.attitude} if existing else {"role": None, "attitude": None}
    if existing is None:
        session.add(
            OpportunityContact(
                tenant_id=opportunity.tenant_id,
                id=uuid.uuid4(),
                opportunity_id=opportunity.id,
                contact_id=contact.id,
                role=role,
                attitude=attitude,
            )
        )
    else:
        existing.role, existing.attitude = role, attitude
    await session.flush()
    changes = audit_log.diff(before, {"role": role, "attitude": attitude})
    if changes:
        old = {k: v["old"] for k, v in changes.items()}
        new = {k: v["new"] for k, v in changes.items()}
        audit_log.record(
            session,
            uow.access,
            record_type="opportunity",
            record_id=opportunity.id,
            action="buying_centre_changed",
            changes={f"contact {contact.id}": {"old": old, "new": new}},
        )
    return opportunity


async def _buying_centre_seat(
    uow: UnitOfWork, opportunity: Opportunity, contact_id: uuid.UUID
) -> OpportunityContact | None:
    """The contact's place in the buying centre of a deal the actor has already been shown, if they have one."""
    stmt = select(OpportunityContact).where(
        OpportunityContact.tenant_id == opportunity.tenant_id,
        OpportunityContact.opportunity_id == opportunity.id,
        OpportunityContact.contact_id == contact_id,
    )
    return (await uow.session.execute(stmt)).scalar_one_or_none()


async def remove_contact(uow: UnitOfWork, opportunity_id: uuid.UUID, contact_id: uuid.UUID) -> Opportunity:
    """Take a contact out of the opportunity's buying centre."""
    opportunity = await editable_opportunity_or_raise(uow, opportunity_id, field="opportunityId")
    row = await _buying_centre_seat(uow, opportunity, contact_id)
    if row is None:
        raise NotFound("That contact is not in the buying centre.", field="contactId")
    await uow.session.delete(row)
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="opportunity",
        record_id=opportunity.id,
        action="buying_centre_changed",
        changes={
            f"contact {contact_id}": {"old": {"role": row.role.value, "attitude": row.attitude.value}, "new": None}
        },
    )
    return opportunity


def _require_internal(access: Access) -> None:
    if not access.can(Resource.OPPORTUNITY_INTERNAL, Action.UPDATE):
        raise Forbidden("Competitors are internal-only; your role may not change them.")


async def competitor(uow: UnitOfWork, opportunity: Opportunity, name: str) -> OpportunityCompetitor | None:
    """The deal's competitor of that name, for a deal the actor has already been shown."""
    stmt = select(OpportunityCompetitor).where(
        OpportunityCompetitor.tenant_id == opportunity.tenant_id,
        OpportunityCompetitor.opportunity_id == opportunity.id,
        OpportunityCompetitor.name == name,
    )
    return (await uow.session.execute(stmt)).scalar_one_or_none()


async def set_competitor(
    uow: UnitOfWork, opportunity_id: uuid.UUID, name: str, status: CompetitorStatus, notes: str | None
) -> Opportunity:
    """Record a competitor in the deal, or update its status and notes (internal roles only)."""
    _require_internal(uow.access)
    opportunity = await editable_opportunity_or_raise(uow, opportunity_id, field="opportunityId")
    v = Validator()
    clean = v.require_text("name", name, max_length=200)
    clean_notes = v.require_text("notes", notes, max_length=5000, required=False)
    v.raise_if_any()
    assert clean is not None
    existing = await competitor(uow, opportunity, clean)
    if existing is None:
        uow.session.add(
            OpportunityCompetitor(
                tenant_id=opportunity.tenant_id,
                id=uuid.uuid4(),
                opportunity_id=opportunity.id,
                name=clean,
                status=status,
                notes=clean_notes,
            )
        )
        old = None
    else:
        old = {"status": existing.status.value, "notes": existing.notes}
        existing.status, existing.notes = status, clean_notes
    await uow.session.flush()
    new = {"status": status.value, "notes": clean_notes}
    audit_log.record(
        uow.session,
        uow.access,
        record_type="opportunity",
        record_id=opportunity.id,
        action="competitor_set",
        changes={f"competitor {clean}": {"old": old, "new": new}},
    )
    return opportunity


async def record_winner(uow: UnitOfWork, opportunity: Opportunity, name: str) -> None:
    """The competitor who won a lost deal, marked preferred in the deal's competitor list."""
    row = await competitor(uow, opportunity, name)
    if row is None:
        uow.session.add(
            OpportunityCompetitor(
                tenant_id=opportunity.tenant_id,
                id=uuid.uuid4(),
                opportunity_id=opportunity.id,
                name=name,
                status=CompetitorStatus.PREFERRED,
            )
        )
    else:
        row.status = CompetitorStatus.PREFERRED
