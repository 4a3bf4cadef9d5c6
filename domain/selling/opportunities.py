"""Opportunities, the teams that work them and the partners linked to them: the models and their use cases.

Opening and changing a deal's fields apply the pipeline, stage gate and team stage rules, which build on the
models here; those use cases sit above the rules, in `opportunity_changes` (stage moves in `stage_gates`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    CHAR,
    Date,
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
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Access, Action, Resource
from domain.access.unit_of_work import Protected, UnitOfWork
from domain.audit import trail as audit_log
from domain.channel.organizations import Organization
from domain.identity.users import User
from domain.selling.codes import SellingCode
from domain.selling.stages import CloseReason, ForecastCategory, Stage
from domain.shared.base import Base, TenantScoped, Timestamped
from domain.shared.errors import Conflict, ErrorCode, Forbidden, NotFound, Validator
from domain.shared.record_versions import Versioned, require_version
from domain.shared.search import contains_any, search_term


class SalesRole(StrEnum):
    """The part a team member plays in the sale."""

    ACCOUNT_MANAGER = "account_manager"
    SOLUTION_SPECIALIST = "solution_specialist"
    INDUSTRY_SPECIALIST = "industry_specialist"
    PRODUCT_SPECIALIST = "product_specialist"
    NEGOTIATOR = "negotiator"
    CHANNEL_MANAGER = "channel_manager"
    PARTNER_REP = "partner_rep"


class TeamAccess(StrEnum):
    """What a team seat lets its holder do to the deal."""

    READ = "read"
    EDIT = "edit"


class PartnerRole(StrEnum):
    """A partner organization's part in a deal."""

    SOURCING = "sourcing"
    FULFILLING = "fulfilling"
    INFLUENCING = "influencing"


class Opportunity(Protected, TenantScoped, Timestamped, Versioned, Base):
    """A potential sale to an account, owned by one user and worked by a team."""

    __resource__ = Resource.OPPORTUNITY
    __label__ = "opportunity"

    audit_record_type = "opportunity"

    __tablename__ = "opportunity"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "account_id"], ["account.tenant_id", "account.id"]),
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["app_user.tenant_id", "app_user.id"]),
        ForeignKeyConstraint(["tenant_id", "territory_id"], ["territory.tenant_id", "territory.id"]),
        ForeignKeyConstraint(["tenant_id", "pipeline_id"], ["pipeline.tenant_id", "pipeline.id"]),
        Index("ix_opportunity_account", "tenant_id", "account_id"),
        Index("ix_opportunity_owner", "tenant_id", "owner_id"),
        Index("ix_opportunity_territory", "tenant_id", "territory_id"),
        Index("ix_opportunity_order_created", "tenant_id", "created_at", "id"),
        Index("ix_opportunity_order_close", "tenant_id", "close_date", "id"),
        Index("ix_opportunity_order_amount", "tenant_id", "amount", "id"),
        # The account of each of a set of opportunities, from the index alone (the account row rules; #14).
        Index("ix_opportunity_id_account", "tenant_id", "id", postgresql_include=["account_id"]),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    territory_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    stage: Mapped[Stage] = mapped_column(Enum(Stage, name="opportunity_stage"), default=Stage.PROSPECTING)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(CHAR(3))
    close_date: Mapped[date] = mapped_column(Date)
    probability: Mapped[int] = mapped_column(Integer)
    forecast_category: Mapped[ForecastCategory] = mapped_column(Enum(ForecastCategory, name="forecast_category"))
    margin: Mapped[Decimal | None] = mapped_column(Numeric(7, 4), nullable=True)
    internal_notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Where the deal came from, e.g. "lead:web_form:spring-campaign".
    source: Mapped[str | None] = mapped_column(String(200), nullable=True)
    budget: Mapped[Decimal | None] = mapped_column(Numeric(18, 2), nullable=True)  # the customer's, in `currency`
    decision_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    close_reason_code: Mapped[CloseReason | None] = mapped_column(Enum(CloseReason, name="close_reason"), nullable=True)
    close_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    lost_to_competitor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The sales process it follows; null for deals of a tenant without pipelines.
    pipeline_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


class OpportunityTeamMember(TenantScoped, Timestamped, Base):
    """A user working an opportunity in a sales role, with read or edit access."""

    __tablename__ = "opportunity_team_member"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "opportunity_id"], ["opportunity.tenant_id", "opportunity.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["app_user.tenant_id", "app_user.id"]),
        UniqueConstraint("tenant_id", "opportunity_id", "user_id"),
        Index("ix_team_member_user", "tenant_id", "user_id", "opportunity_id"),
    )

    opportunity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sales_role: Mapped[SalesRole] = mapped_column(Enum(SalesRole, name="sales_role"))
    access: Mapped[TeamAccess] = mapped_column(Enum(TeamAccess, name="team_access"))


class OpportunityPartner(TenantScoped, Timestamped, Base):
    """A partner organization linked to an opportunity in a channel role."""

    __tablename__ = "opportunity_partner"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "opportunity_id"], ["opportunity.tenant_id", "opportunity.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "organization_id"], ["organization.tenant_id", "organization.id"]),
        UniqueConstraint("tenant_id", "opportunity_id", "organization_id"),
        Index("ix_opportunity_partner_org", "tenant_id", "organization_id", "opportunity_id"),
    )

    opportunity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    role: Mapped[PartnerRole] = mapped_column(Enum(PartnerRole, name="partner_role"))


# --- Use cases -------------------------------------------------------------------------------

# What only roles that read internal fields see: a conflict does not name them to anyone else.
INTERNAL_READ_FIELDS = ("margin", "internal_notes", "close_reason_code", "close_reason", "lost_to_competitor")


@dataclass
class OpportunityFilter:
    """Narrowing of an opportunity list; every field optional."""

    search: str | None = None
    stages: list[Stage] | None = None
    owner_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    partner_organization_id: uuid.UUID | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    close_date_from: date | None = None
    close_date_to: date | None = None
    pipeline_id: uuid.UUID | None = None


def opportunities_query(uow: UnitOfWork, flt: OpportunityFilter | None = None) -> Select[Opportunity]:
    """Visible opportunities, filtered; ValidationFailed for a search text over the bound."""
    stmt = uow.visible(Opportunity)
    if flt is None:
        return stmt
    if term := search_term(flt.search):
        stmt = stmt.where(contains_any(term, Opportunity.name))
    if flt.stages:
        stmt = stmt.where(Opportunity.stage.in_(flt.stages))
    if flt.owner_id:
        stmt = stmt.where(Opportunity.owner_id == flt.owner_id)
    if flt.account_id:
        stmt = stmt.where(Opportunity.account_id == flt.account_id)
    if flt.partner_organization_id:
        stmt = stmt.where(
            Opportunity.id.in_(
                select(OpportunityPartner.opportunity_id).where(
                    OpportunityPartner.tenant_id == uow.tenant_id,
                    OpportunityPartner.organization_id == flt.partner_organization_id,
                )
            )
        )
    if flt.amount_min is not None:
        stmt = stmt.where(Opportunity.amount >= flt.amount_min)
    if flt.amount_max is not None:
        stmt = stmt.where(Opportunity.amount <= flt.amount_max)
    if flt.close_date_from is not None:
        stmt = stmt.where(Opportunity.close_date >= flt.close_date_from)
    if flt.close_date_to is not None:
        stmt = stmt.where(Opportunity.close_date <= flt.close_date_to)
    if flt.pipeline_id is not None:
        stmt = stmt.where(Opportunity.pipeline_id == flt.pipeline_id)
    return stmt


def require_internal_read(access: Access, field: str) -> None:
    """Refuse a read of an internal-only field (margin, notes, close reasons, competitors) to roles without it."""
    if not access.can(Resource.OPPORTUNITY_INTERNAL, Action.READ):
        raise Forbidden(f"{field} is internal-only and your role may not read it.", field=field)


async def active_user_or_raise(uow: UnitOfWork, user_id: uuid.UUID, field: str) -> User:
    """A user the actor can see and who is still active; NotFound or a field error otherwise."""
    user = await uow.get(User, user_id, field=field)
    if not user.is_active:
        v = Validator()
        v.fail(field, ErrorCode.INVALID, "That user is deactivated.")
        v.raise_if_any()
    return user


def _refused_place(uow: UnitOfWork, field: str) -> Forbidden:
    if uow.actor.is_partner:
        return Forbidden(
            "Partners change only their own organization's people on a deal: its seats and its ownership.",
            field=field,
        )
    return Forbidden("Your role may not change that user's place on a deal.", field=field)


async def require_place_rights(
    uow: UnitOfWork, user_id: uuid.UUID, field: str, refused: Forbidden | None = None
) -> None:
    """Refuse to seat, unseat, hand a deal to or take it from a user outside the people the actor manages on deals."""
    inside = await uow.session.scalar(
        uow.visible_columns(User, User.id, action=Action.UPDATE, resource=Resource.OPPORTUNITY_TEAM).where(
            User.id == user_id
        )
    )
    if inside is None:
        raise refused or _refused_place(uow, field)


async def _visible_member_or_raise(
    uow: UnitOfWork, opportunity: Opportunity, user_id: uuid.UUID, field: str
) -> OpportunityTeamMember:
    """The user's seat, for a change; a member the actor cannot see is "not on the team" to them."""
    member = await team_member(uow, opportunity, user_id)
    seen = await uow.session.scalar(uow.visible_columns(User, User.id).where(User.id == user_id))
    if member is None or seen is None:
        raise NotFound("That user is not on the team.", field=field)
    await require_place_rights(uow, user_id, field)
    return member


async def _require_partner_link_rights(uow: UnitOfWork, organization_id: uuid.UUID) -> None:
    """Refuse to link or unlink an organization outside those whose links to deals the actor may change."""
    inside = await uow.session.scalar(
        uow.visible_columns(
            Organization, Organization.id, action=Action.UPDATE, resource=Resource.OPPORTUNITY_PARTNER
        ).where(Organization.id == organization_id)
    )
    if inside is None:
        message = (
            "Partners link a deal to, or unlink it from, their own organization only."
            if uow.actor.is_partner
            else "Your role may not change that organization's link to a deal."
        )
        raise Forbidden(message, field="organizationId")


async def team_member(uow: UnitOfWork, opportunity: Opportunity, user_id: uuid.UUID) -> OpportunityTeamMember | None:
    """The user's seat on a deal the actor has already been shown, if they hold one."""
    stmt = select(OpportunityTeamMember).where(
        OpportunityTeamMember.tenant_id == opportunity.tenant_id,
        OpportunityTeamMember.opportunity_id == opportunity.id,
        OpportunityTeamMember.user_id == user_id,
    )
    return (await uow.session.execute(stmt)).scalar_one_or_none()


async def _partner_link(
    uow: UnitOfWork, opportunity: Opportunity, organization_id: uuid.UUID
) -> OpportunityPartner | None:
    """The organization's link to the opportunity, if it has one."""
    stmt = select(OpportunityPartner).where(
        OpportunityPartner.tenant_id == opportunity.tenant_id,
        OpportunityPartner.opportunity_id == opportunity.id,
        OpportunityPartner.organization_id == organization_id,
    )
    return (await uow.session.execute(stmt)).scalar_one_or_none()


async def editable_opportunity_or_raise(
    uow: UnitOfWork, opportunity_id: uuid.UUID, field: str = "id", *, expected_version: int | None = None
) -> Opportunity:
    """The opportunity, locked for change, if the actor may edit it; partners read closed deals only.

    With `expected_version` (the version the actor read), a deal changed since is refused (StaleVersion).
    """
    opportunity = await uow.get(Opportunity, opportunity_id, action=Action.UPDATE, field=field, for_update=True)
    if uow.actor.is_partner and opportunity.stage.is_closed:
        raise Forbidden(
            "The deal is closed: partners may read it but no longer change it.",
            field=field,
            code=SellingCode.DEAL_CLOSED,
        )
    hidden = () if uow.access.can(Resource.OPPORTUNITY_INTERNAL, Action.READ) else INTERNAL_READ_FIELDS
    await require_version(uow.session, opportunity, expected_version, hidden=hidden)
    return opportunity


async def transfer_ownership(
    uow: UnitOfWork,
    opportunity_id: uuid.UUID,
    new_owner_id: uuid.UUID,
    reason: str | None,
    *,
    keep_previous_owner_on_team: bool = False,
    expected_version: int | None = None,
) -> Opportunity:
    """Hand an opportunity to another owner, with a reason; the previous owner may stay on the team read-only.

    It takes the right to hand the deal over (its owner, their managers, directors, admins; a team seat is not
    enough) and a place-changing right over both the previous and the new owner.
    """
    session = uow.session
    opportunity = await editable_opportunity_or_raise(uow, opportunity_id, expected_version=expected_version)
    may_hand_over = await session.scalar(
        uow.visible_columns(
            Opportunity, Opportunity.id, action=Action.UPDATE, resource=Resource.OPPORTUNITY_OWNER
        ).where(Opportunity.id == opportunity.id)
    )
    if may_hand_over is None:
        raise Forbidden("Your role may not hand this deal to another owner.", field="id")
    if uow.actor.is_partner:
        refused = Forbidden("Partners hand over only deals owned by people of their own organization.", field="id")
    else:
        refused = Forbidden("Your role may not take this deal from its owner.", field="id")
    await require_place_rights(uow, opportunity.owner_id, "id", refused)
    v = Validator()
    reason = v.require_text("reason", reason, max_length=2000)
    if new_owner_id == opportunity.owner_id:
        v.fail("newOwnerId", ErrorCode.INVALID, "That user already owns the opportunity.")
    v.raise_if_any()
    await active_user_or_raise(uow, new_owner_id, "newOwnerId")
    await require_place_rights(uow, new_owner_id, "newOwnerId")
    previous = opportunity.owner_id
    opportunity.owner_id = new_owner_id
    # The new owner needs no team row of their own: ownership already grants their access.
    await session.execute(
        delete(OpportunityTeamMember).where(
            OpportunityTeamMember.tenant_id == opportunity.tenant_id,
            OpportunityTeamMember.opportunity_id == opportunity.id,
            OpportunityTeamMember.user_id == new_owner_id,
        )
    )
    if keep_previous_owner_on_team:
        session.add(
            OpportunityTeamMember(
                tenant_id=opportunity.tenant_id,
                opportunity_id=opportunity.id,
                user_id=previous,
                sales_role=SalesRole.ACCOUNT_MANAGER,
                access=TeamAccess.READ,
            )
        )
    await session.flush()
    audit_log.record(
        session,
        uow.access,
        record_type="opportunity",
        record_id=opportunity.id,
        action="ownership_transferred",
        changes={"owner_id": {"old": str(previous), "new": str(new_owner_id)}},
        reason=reason,
    )
    return opportunity


async def add_team_member(
    uow: UnitOfWork, opportunity_id: uuid.UUID, user_id: uuid.UUID, sales_role: SalesRole, team_access: TeamAccess
) -> Opportunity:
    """Put a user on an opportunity's team in a sales role; partners seat only their own organization's people."""
    opportunity = await editable_opportunity_or_raise(uow, opportunity_id, field="opportunityId")
    await active_user_or_raise(uow, user_id, "userId")
    await require_place_rights(uow, user_id, "userId")
    if user_id == opportunity.owner_id:
        raise Conflict(
            "The owner is not added to the team: ownership already gives full access.",
            field="userId",
            code=SellingCode.DEAL_OWNER,
        )
    if await team_member(uow, opportunity, user_id) is not None:
        raise Conflict("That user is already on the team.", field="userId", code=SellingCode.ALREADY_ON_TEAM)
    member = OpportunityTeamMember(
        tenant_id=opportunity.tenant_id,
        id=uuid.uuid4(),
        opportunity_id=opportunity.id,
        user_id=user_id,
        sales_role=sales_role,
        access=team_access,
    )
    uow.session.add(member)
    await uow.session.flush()
    seat = {"user_id": str(user_id), "sales_role": sales_role.value, "access": team_access.value}
    audit_log.record(
        uow.session,
        uow.access,
        record_type="opportunity",
        record_id=opportunity.id,
        action="team_member_added",
        changes={"team_member": {"old": None, "new": seat}},
    )
    return opportunity


async def remove_team_member(
    uow: UnitOfWork, opportunity_id: uuid.UUID, user_id: uuid.UUID, reason: str | None = None
) -> Opportunity:
    """Take a user off an opportunity's team; partners unseat only their own organization's people."""
    opportunity = await editable_opportunity_or_raise(uow, opportunity_id, field="opportunityId")
    member = await _visible_member_or_raise(uow, opportunity, user_id, "userId")
    await uow.session.delete(member)
    await uow.session.flush()
    seat = {"user_id": str(user_id), "sales_role": member.sales_role.value, "access": member.access.value}
    audit_log.record(
        uow.session,
        uow.access,
        record_type="opportunity",
        record_id=opportunity.id,
        action="team_member_removed",
        changes={"team_member": {"old": seat, "new": None}},
        reason=reason,
    )
    return opportunity


async def link_partner(
    uow: UnitOfWork, opportunity_id: uuid.UUID, organization_id: uuid.UUID, role: PartnerRole
) -> Opportunity:
    """Link a partner organization the actor can see to an opportunity in a channel role (partners: their own)."""
    opportunity = await editable_opportunity_or_raise(uow, opportunity_id, field="opportunityId")
    organization = await uow.get(Organization, organization_id, field="organizationId")
    if not organization.is_partner:
        v = Validator()
        v.fail("organizationId", ErrorCode.INVALID, "Only partner organizations can be linked to an opportunity.")
        v.raise_if_any()
    await _require_partner_link_rights(uow, organization.id)
    if await _partner_link(uow, opportunity, organization.id) is not None:
        raise Conflict(
            "That organization is already linked to the opportunity.",
            field="organizationId",
            code=SellingCode.PARTNER_ALREADY_LINKED,
        )
    link = OpportunityPartner(
        tenant_id=opportunity.tenant_id,
        id=uuid.uuid4(),
        opportunity_id=opportunity.id,
        organization_id=organization.id,
        role=role,
    )
    uow.session.add(link)
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="opportunity",
        record_id=opportunity.id,
        action="partner_linked",
        changes={"partner": {"old": None, "new": {"organization_id": str(organization.id), "role": role.value}}},
    )
    return opportunity


async def unlink_partner(uow: UnitOfWork, opportunity_id: uuid.UUID, organization_id: uuid.UUID) -> Opportunity:
    """Remove a partner organization's link to an opportunity (partners: their own organization's)."""
    opportunity = await editable_opportunity_or_raise(uow, opportunity_id, field="opportunityId")
    link = await _partner_link(uow, opportunity, organization_id)
    seen = await uow.session.scalar(
        uow.visible_columns(Organization, Organization.id).where(Organization.id == organization_id)
    )
    if link is None or seen is None:
        raise NotFound("That organization is not linked to the opportunity.", field="organizationId")
    await _require_partner_link_rights(uow, organization_id)
    await uow.session.delete(link)
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="opportunity",
        record_id=opportunity.id,
        action="partner_unlinked",
        changes={"partner": {"old": {"organization_id": str(organization_id), "role": link.role.value}, "new": None}},
    )
    return opportunity


async def swap_team_member(
    uow: UnitOfWork,
    opportunity_id: uuid.UUID,
    outgoing_user_id: uuid.UUID,
    incoming_user_id: uuid.UUID,
    reason: str | None,
) -> Opportunity:
    """Hand a team seat to someone else, with a reason: same sales role and access, one audit event.

    Partners hand over only their own organization's seats, to their own organization's people.
    """
    v = Validator()
    reason = v.require_text("reason", reason, max_length=2000)
    if outgoing_user_id == incoming_user_id:
        v.fail("incomingUserId", ErrorCode.INVALID, "The incoming user is the outgoing one.")
    v.raise_if_any()
    opportunity = await editable_opportunity_or_raise(uow, opportunity_id, field="opportunityId")
    outgoing = await _visible_member_or_raise(uow, opportunity, outgoing_user_id, "outgoingUserId")
    await active_user_or_raise(uow, incoming_user_id, "incomingUserId")
    await require_place_rights(uow, incoming_user_id, "incomingUserId")
    already = "The incoming user already works this deal."
    if incoming_user_id == opportunity.owner_id:
        raise Conflict(already, field="incomingUserId", code=SellingCode.DEAL_OWNER)
    if await team_member(uow, opportunity, incoming_user_id) is not None:
        raise Conflict(already, field="incomingUserId", code=SellingCode.ALREADY_ON_TEAM)
    role, seat_access = outgoing.sales_role, outgoing.access
    await uow.session.delete(outgoing)
    await uow.session.flush()
    uow.session.add(
        OpportunityTeamMember(
            tenant_id=opportunity.tenant_id,
            id=uuid.uuid4(),
            opportunity_id=opportunity.id,
            user_id=incoming_user_id,
            sales_role=role,
            access=seat_access,
        )
    )
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="opportunity",
        record_id=opportunity.id,
        action="team_member_swapped",
        changes={
            "team_member": {
                "old": {"user_id": str(outgoing_user_id), "sales_role": role.value},
                "new": {"user_id": str(incoming_user_id), "sales_role": role.value},
            }
        },
        reason=reason,
    )
    return opportunity
