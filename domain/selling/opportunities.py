"""Opportunities, the teams that work them and the partners linked to them: the models."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

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
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Access, Action, Resource
from domain.access.visibility import get_or_raise
from domain.audit import trail as audit_log
from domain.channel.organizations import Organization
from domain.identity.users import User
from domain.selling.accounts import Account
from domain.shared.base import Base, TenantScoped, Timestamped
from domain.shared.commands import UNSET, Patch, is_set
from domain.shared.errors import Conflict, ErrorCode, Forbidden, NotFound, ValidationFailed, Validator, required
from domain.shared.money import check_amount, check_currency
from domain.shared.record_versions import Versioned, require_version
from domain.shared.search import contains_any, search_term


class Stage(StrEnum):
    PROSPECTING = "prospecting"
    QUALIFICATION = "qualification"
    SOLUTION = "solution"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    CLOSED_WON = "closed_won"
    CLOSED_LOST = "closed_lost"

    @property
    def is_closed(self) -> bool:
        return self in (Stage.CLOSED_WON, Stage.CLOSED_LOST)


class CloseReason(StrEnum):
    """Why a deal was won or lost."""

    PRICE = "price"
    PRODUCT_FIT = "product_fit"
    RELATIONSHIP = "relationship"
    PARTNER = "partner"
    COMPETITOR = "competitor"
    NO_DECISION = "no_decision"
    BUDGET = "budget"
    TIMING = "timing"
    OTHER = "other"


class ForecastCategory(StrEnum):
    PIPELINE = "pipeline"
    BEST_CASE = "best_case"
    COMMIT = "commit"
    CLOSED = "closed"
    OMITTED = "omitted"


STAGE_DEFAULTS: dict[Stage, tuple[int, ForecastCategory]] = {
    Stage.PROSPECTING: (10, ForecastCategory.PIPELINE),
    Stage.QUALIFICATION: (20, ForecastCategory.PIPELINE),
    Stage.SOLUTION: (40, ForecastCategory.BEST_CASE),
    Stage.PROPOSAL: (60, ForecastCategory.BEST_CASE),
    Stage.NEGOTIATION: (80, ForecastCategory.COMMIT),
    Stage.CLOSED_WON: (100, ForecastCategory.CLOSED),
    Stage.CLOSED_LOST: (0, ForecastCategory.OMITTED),
}


class SalesRole(StrEnum):
    ACCOUNT_MANAGER = "account_manager"
    SOLUTION_SPECIALIST = "solution_specialist"
    INDUSTRY_SPECIALIST = "industry_specialist"
    PRODUCT_SPECIALIST = "product_specialist"
    NEGOTIATOR = "negotiator"
    CHANNEL_MANAGER = "channel_manager"
    PARTNER_REP = "partner_rep"


class TeamAccess(StrEnum):
    READ = "read"
    EDIT = "edit"


class PartnerRole(StrEnum):
    SOURCING = "sourcing"
    FULFILLING = "fulfilling"
    INFLUENCING = "influencing"


class Opportunity(TenantScoped, Timestamped, Versioned, Base):
    """A potential sale to an account, owned by one user and worked by a team."""

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

INTERNAL_FIELDS = ("margin", "internal_notes")
# What only roles that read internal fields see: a conflict does not name them to anyone else.
INTERNAL_READ_FIELDS = (*INTERNAL_FIELDS, "close_reason_code", "close_reason", "lost_to_competitor")
MARGIN_PLACES = Decimal("0.0001")
INTERNAL_FIELD_NAMES = {"margin": "margin", "internal_notes": "internalNotes"}


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


@dataclass
class OpportunityChanges:
    """Fields to set on an opportunity; UNSET leaves a field as it is."""

    name: Patch[str] = UNSET
    amount: Patch[Decimal] = UNSET
    currency: Patch[str] = UNSET
    close_date: Patch[date] = UNSET
    probability: Patch[int] = UNSET
    forecast_category: Patch[ForecastCategory] = UNSET
    margin: Patch[Decimal | None] = UNSET
    internal_notes: Patch[str | None] = UNSET
    budget: Patch[Decimal | None] = UNSET
    decision_date: Patch[date | None] = UNSET


def opportunities_query(access: Access, flt: OpportunityFilter | None = None) -> Select[tuple[Opportunity]]:
    """Visible opportunities, filtered; ValidationFailed for a search text over the bound."""
    stmt = select(Opportunity).where(access.rows(Resource.OPPORTUNITY))
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
                    OpportunityPartner.tenant_id == access.actor.tenant_id,
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


def _validated(changes: OpportunityChanges, *, creating: bool) -> dict[str, Any]:
    v = Validator()
    values: dict[str, Any] = {}
    if is_set(changes.name) or creating:
        name = v.require_text("name", changes.name if is_set(changes.name) else None, max_length=200)
        if name:
            values["name"] = name
    if is_set(changes.amount) or creating:
        amount = check_amount(v, "amount", changes.amount if is_set(changes.amount) else None)
        if amount is not None:
            values["amount"] = amount
    if is_set(changes.currency) or creating:
        currency = check_currency(v, "currency", changes.currency if is_set(changes.currency) else None)
        if currency:
            values["currency"] = currency
    if is_set(changes.close_date) or creating:
        if not is_set(changes.close_date) or changes.close_date is None:
            v.fail("closeDate", ErrorCode.REQUIRED, "closeDate is required.")
        else:
            values["close_date"] = changes.close_date
    if is_set(changes.probability):
        if changes.probability is None or not 0 <= changes.probability <= 100:
            v.fail("probability", ErrorCode.OUT_OF_RANGE, "probability must be between 0 and 100.")
        else:
            values["probability"] = changes.probability
    if is_set(changes.forecast_category):
        if changes.forecast_category is None:
            v.fail("forecastCategory", ErrorCode.REQUIRED, "forecastCategory must not be null.")
        else:
            values["forecast_category"] = changes.forecast_category
    if is_set(changes.margin):
        margin = changes.margin
        if margin is not None and not (margin.is_finite() and Decimal("-1") <= margin <= Decimal("1")):
            v.fail("margin", ErrorCode.OUT_OF_RANGE, "margin is a fraction between -1 and 1 (0.25 is 25%).")
        elif margin is not None and margin != margin.quantize(MARGIN_PLACES):
            v.fail("margin", ErrorCode.INVALID, "margin must have at most four decimal places.")
        else:
            values["margin"] = None if margin is None else margin.quantize(MARGIN_PLACES)
    if is_set(changes.budget):
        values["budget"] = None if changes.budget is None else check_amount(v, "budget", changes.budget)
    if is_set(changes.decision_date):
        values["decision_date"] = changes.decision_date
    if is_set(changes.internal_notes):
        values["internal_notes"] = v.require_text(
            "internalNotes", changes.internal_notes, max_length=20_000, required=False
        )
    v.raise_if_any()
    return values


def _require_internal_field_rights(access: Access, values: dict[str, Any]) -> None:
    touched = [INTERNAL_FIELD_NAMES[f] for f in INTERNAL_FIELDS if f in values]
    if touched and not access.can(Resource.OPPORTUNITY_INTERNAL, Action.UPDATE):
        raise Forbidden(f"Your role may not set internal-only fields: {', '.join(touched)}.", field=touched[0])


async def _active_visible_user(session: AsyncSession, access: Access, user_id: uuid.UUID, field: str) -> User:
    user = await get_or_raise(session, access, User, Resource.USER, user_id, field=field)
    if not user.is_active:
        v = Validator()
        v.fail(field, ErrorCode.INVALID, "That user is deactivated.")
        v.raise_if_any()
    return user


def _refused_place(access: Access, field: str) -> Forbidden:
    if access.actor.is_partner:
        return Forbidden(
            "Partners change only their own organization's people on a deal: its seats and its ownership.",
            field=field,
        )
    return Forbidden("Your role may not change that user's place on a deal.", field=field)


async def _require_place_rights(
    session: AsyncSession, access: Access, user_id: uuid.UUID, field: str, refused: Forbidden | None = None
) -> None:
    """Refuse to seat, unseat, hand a deal to or take it from a user outside the people the actor manages on deals."""
    inside = (
        await session.execute(
            select(User.id).where(access.rows(Resource.OPPORTUNITY_TEAM, Action.UPDATE), User.id == user_id)
        )
    ).scalar_one_or_none()
    if inside is None:
        raise refused or _refused_place(access, field)


async def _visible_member_or_raise(
    session: AsyncSession, access: Access, opportunity: Opportunity, user_id: uuid.UUID, field: str
) -> OpportunityTeamMember:
    """The user's seat, for a change; a member the actor cannot see is "not on the team" to them."""
    member = await _team_member(session, opportunity, user_id)
    seen = (
        await session.execute(select(User.id).where(access.rows(Resource.USER), User.id == user_id))
    ).scalar_one_or_none()
    if member is None or seen is None:
        raise NotFound("That user is not on the team.", field=field)
    await _require_place_rights(session, access, user_id, field)
    return member


async def _require_partner_link_rights(session: AsyncSession, access: Access, organization_id: uuid.UUID) -> None:
    """Refuse to link or unlink an organization outside those whose links to deals the actor may change."""
    inside = (
        await session.execute(
            select(Organization.id).where(
                access.rows(Resource.OPPORTUNITY_PARTNER, Action.UPDATE), Organization.id == organization_id
            )
        )
    ).scalar_one_or_none()
    if inside is None:
        message = (
            "Partners link a deal to, or unlink it from, their own organization only."
            if access.actor.is_partner
            else "Your role may not change that organization's link to a deal."
        )
        raise Forbidden(message, field="organizationId")


async def create_opportunity(
    session: AsyncSession,
    access: Access,
    account_id: uuid.UUID,
    changes: OpportunityChanges,
    *,
    owner_id: uuid.UUID | None = None,
    stage: Stage | None = None,
    pipeline_id: uuid.UUID | None = None,
) -> Opportunity:
    """Open an opportunity on a visible account; a partner's own deals are linked to its organization as sourcing."""
    actor = access.actor
    if not access.can(Resource.OPPORTUNITY, Action.CREATE):
        raise Forbidden("Your role may not create opportunities.")
    values = _validated(changes, creating=True)
    _require_internal_field_rights(access, values)
    account = await get_or_raise(session, access, Account, Resource.ACCOUNT, account_id, field="accountId")
    owner_id = owner_id or actor.user_id
    if owner_id is None:
        raise required("ownerId")
    await _active_visible_user(session, access, owner_id, "ownerId")
    if owner_id != actor.user_id:
        await _require_place_rights(session, access, owner_id, "ownerId")
    # Imported here: pipelines and stage gates build on this module.
    from domain.selling.pipelines import pipeline_for_new_deal, stage_terms, stages_of
    from domain.selling.stage_gates import stages_passed, unmet_on_the_way

    pipeline = await pipeline_for_new_deal(session, actor.tenant_id, pipeline_id)
    if stage is None:
        stage = (await stages_of(session, actor.tenant_id, pipeline.id))[0].stage if pipeline else Stage.PROSPECTING
    probability, forecast = await stage_terms(session, actor.tenant_id, pipeline.id if pipeline else None, stage)
    values.setdefault("probability", probability)
    values.setdefault("forecast_category", forecast)
    opportunity = Opportunity(
        tenant_id=actor.tenant_id,
        id=uuid.uuid4(),
        account_id=account.id,
        owner_id=owner_id,
        territory_id=account.territory_id,
        stage=stage,
        pipeline_id=pipeline.id if pipeline else None,
        **values,
    )
    # Starting in a later stage passes the gates of the stages before it, as moving there would.
    passed = await stages_passed(session, actor.tenant_id, opportunity.pipeline_id, None, stage)
    unmet = await unmet_on_the_way(session, opportunity, passed, creating=True)
    if unmet:
        raise ValidationFailed(unmet)
    session.add(opportunity)
    await session.flush()
    audit_log.record(
        session,
        access,
        record_type="opportunity",
        record_id=opportunity.id,
        action="created",
        changes=audit_log.created_changes({"account_id": account.id, "owner_id": owner_id, "stage": stage, **values}),
    )
    if actor.is_partner and actor.organization_id is not None:
        session.add(
            OpportunityPartner(
                tenant_id=actor.tenant_id,
                opportunity_id=opportunity.id,
                organization_id=actor.organization_id,
                role=PartnerRole.SOURCING,
            )
        )
        audit_log.record(
            session,
            access,
            record_type="opportunity",
            record_id=opportunity.id,
            action="partner_linked",
            changes={
                "partner": {"old": None, "new": {"organization_id": str(actor.organization_id), "role": "sourcing"}}
            },
        )
    await session.flush()
    return opportunity


async def _team_member(
    session: AsyncSession, opportunity: Opportunity, user_id: uuid.UUID
) -> OpportunityTeamMember | None:
    """The user's row on the opportunity's team, if they are on it."""
    stmt = select(OpportunityTeamMember).where(
        OpportunityTeamMember.tenant_id == opportunity.tenant_id,
        OpportunityTeamMember.opportunity_id == opportunity.id,
        OpportunityTeamMember.user_id == user_id,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def _partner_link(
    session: AsyncSession, opportunity: Opportunity, organization_id: uuid.UUID
) -> OpportunityPartner | None:
    """The organization's link to the opportunity, if it has one."""
    stmt = select(OpportunityPartner).where(
        OpportunityPartner.tenant_id == opportunity.tenant_id,
        OpportunityPartner.opportunity_id == opportunity.id,
        OpportunityPartner.organization_id == organization_id,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def editable_opportunity_or_raise(
    session: AsyncSession,
    access: Access,
    opportunity_id: uuid.UUID,
    field: str = "id",
    *,
    expected_version: int | None = None,
) -> Opportunity:
    """The opportunity, locked for change, if the actor may edit it; partners read closed deals only.

    With `expected_version` (the version the actor read), a deal changed since is refused (StaleVersion).
    """
    opportunity = await get_or_raise(
        session, access, Opportunity, Resource.OPPORTUNITY, opportunity_id, action=Action.UPDATE, field=field,
        for_update=True,
    )  # fmt: skip
    if access.actor.is_partner and opportunity.stage.is_closed:
        raise Forbidden("The deal is closed: partners may read it but no longer change it.", field=field)
    hidden = () if access.can(Resource.OPPORTUNITY_INTERNAL, Action.READ) else INTERNAL_READ_FIELDS
    await require_version(session, opportunity, expected_version, hidden=hidden)
    return opportunity


async def update_opportunity(
    session: AsyncSession,
    access: Access,
    opportunity_id: uuid.UUID,
    changes: OpportunityChanges,
    *,
    expected_version: int | None = None,
) -> Opportunity:
    """Change an opportunity the actor may edit; internal-only fields need their own grant."""
    opportunity = await editable_opportunity_or_raise(
        session, access, opportunity_id, expected_version=expected_version
    )
    values = _validated(changes, creating=False)
    _require_internal_field_rights(access, values)
    # Imported here: the rules module builds on this one.
    from domain.selling.team_stage_rules import FIELD_GROUPS, require_team_stage_rights

    await require_team_stage_rights(session, access, opportunity, {FIELD_GROUPS[f] for f in values})
    await audit_log.apply_and_record(session, access, opportunity, "opportunity", values)
    return opportunity


async def transfer_ownership(
    session: AsyncSession,
    access: Access,
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
    opportunity = await editable_opportunity_or_raise(
        session, access, opportunity_id, expected_version=expected_version
    )
    may_hand_over = (
        await session.execute(
            select(Opportunity.id).where(
                Opportunity.id == opportunity.id, access.rows(Resource.OPPORTUNITY_OWNER, Action.UPDATE)
            )
        )
    ).scalar_one_or_none()
    if may_hand_over is None:
        raise Forbidden("Your role may not hand this deal to another owner.", field="id")
    if access.actor.is_partner:
        refused = Forbidden("Partners hand over only deals owned by people of their own organization.", field="id")
    else:
        refused = Forbidden("Your role may not take this deal from its owner.", field="id")
    await _require_place_rights(session, access, opportunity.owner_id, "id", refused)
    v = Validator()
    reason = v.require_text("reason", reason, max_length=2000)
    if new_owner_id == opportunity.owner_id:
        v.fail("newOwnerId", ErrorCode.INVALID, "That user already owns the opportunity.")
    v.raise_if_any()
    await _active_visible_user(session, access, new_owner_id, "newOwnerId")
    await _require_place_rights(session, access, new_owner_id, "newOwnerId")
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
                tenant_id=opportunity.tenant_id, opportunity_id=opportunity.id, user_id=previous,
                sales_role=SalesRole.ACCOUNT_MANAGER, access=TeamAccess.READ,
            )
        )  # fmt: skip
    await session.flush()
    audit_log.record(
        session, access, record_type="opportunity", record_id=opportunity.id, action="ownership_transferred",
        changes={"owner_id": {"old": str(previous), "new": str(new_owner_id)}}, reason=reason,
    )  # fmt: skip
    return opportunity


async def add_team_member(
    session: AsyncSession,
    access: Access,
    opportunity_id: uuid.UUID,
    user_id: uuid.UUID,
    sales_role: SalesRole,
    team_access: TeamAccess,
) -> OpportunityTeamMember:
    """Put a user on an opportunity's team in a sales role; partners seat only their own organization's people."""
    opportunity = await editable_opportunity_or_raise(session, access, opportunity_id, field="opportunityId")
    await _active_visible_user(session, access, user_id, "userId")
    await _require_place_rights(session, access, user_id, "userId")
    if user_id == opportunity.owner_id:
        raise Conflict("The owner is not added to the team: ownership already gives full access.", field="userId")
    existing = await _team_member(session, opportunity, user_id)
    if existing is not None:
        raise Conflict("That user is already on the team.", field="userId")
    member = OpportunityTeamMember(
        tenant_id=opportunity.tenant_id, id=uuid.uuid4(), opportunity_id=opportunity.id, user_id=user_id,
        sales_role=sales_role, access=team_access,
    )  # fmt: skip
    session.add(member)
    await session.flush()
    audit_log.record(
        session, access, record_type="opportunity", record_id=opportunity.id, action="team_member_added",
        changes={"team_member": {"old": None, "new": {"user_id": str(user_id), "sales_role": sales_role.value,
                                                      "access": team_access.value}}},
    )  # fmt: skip
    return member


async def remove_team_member(
    session: AsyncSession, access: Access, opportunity_id: uuid.UUID, user_id: uuid.UUID, reason: str | None = None
) -> Opportunity:
    """Take a user off an opportunity's team; partners unseat only their own organization's people."""
    opportunity = await editable_opportunity_or_raise(session, access, opportunity_id, field="opportunityId")
    member = await _visible_member_or_raise(session, access, opportunity, user_id, "userId")
    await session.delete(member)
    await session.flush()
    audit_log.record(
        session, access, record_type="opportunity", record_id=opportunity.id, action="team_member_removed",
        changes={"team_member": {"old": {"user_id": str(user_id), "sales_role": member.sales_role.value,
                                         "access": member.access.value}, "new": None}},
        reason=reason,
    )  # fmt: skip
    return opportunity


async def link_partner(
    session: AsyncSession, access: Access, opportunity_id: uuid.UUID, organization_id: uuid.UUID, role: PartnerRole
) -> OpportunityPartner:
    """Link a partner organization the actor can see to an opportunity in a channel role (partners: their own)."""
    opportunity = await editable_opportunity_or_raise(session, access, opportunity_id, field="opportunityId")
    organization = await get_or_raise(
        session, access, Organization, Resource.ORGANIZATION, organization_id, field="organizationId"
    )
    if not organization.is_partner:
        v = Validator()
        v.fail("organizationId", ErrorCode.INVALID, "Only partner organizations can be linked to an opportunity.")
        v.raise_if_any()
    await _require_partner_link_rights(session, access, organization.id)
    existing = await _partner_link(session, opportunity, organization.id)
    if existing is not None:
        raise Conflict("That organization is already linked to the opportunity.", field="organizationId")
    link = OpportunityPartner(
        tenant_id=opportunity.tenant_id, id=uuid.uuid4(), opportunity_id=opportunity.id,
        organization_id=organization.id, role=role,
    )  # fmt: skip
    session.add(link)
    await session.flush()
    audit_log.record(
        session, access, record_type="opportunity", record_id=opportunity.id, action="partner_linked",
        changes={"partner": {"old": None, "new": {"organization_id": str(organization.id), "role": role.value}}},
    )  # fmt: skip
    return link


async def unlink_partner(
    session: AsyncSession, access: Access, opportunity_id: uuid.UUID, organization_id: uuid.UUID
) -> Opportunity:
    """Remove a partner organization's link to an opportunity (partners: their own organization's)."""
    opportunity = await editable_opportunity_or_raise(session, access, opportunity_id, field="opportunityId")
    link = await _partner_link(session, opportunity, organization_id)
    seen = (
        await session.execute(
            select(Organization.id).where(access.rows(Resource.ORGANIZATION), Organization.id == organization_id)
        )
    ).scalar_one_or_none()
    if link is None or seen is None:
        raise NotFound("That organization is not linked to the opportunity.", field="organizationId")
    await _require_partner_link_rights(session, access, organization_id)
    await session.delete(link)
    await session.flush()
    audit_log.record(
        session, access, record_type="opportunity", record_id=opportunity.id, action="partner_unlinked",
        changes={"partner": {"old": {"organization_id": str(organization_id), "role": link.role.value}, "new": None}},
    )  # fmt: skip
    return opportunity


async def swap_team_member(
    session: AsyncSession,
    access: Access,
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
    opportunity = await editable_opportunity_or_raise(session, access, opportunity_id, field="opportunityId")
    outgoing = await _visible_member_or_raise(session, access, opportunity, outgoing_user_id, "outgoingUserId")
    await _active_visible_user(session, access, incoming_user_id, "incomingUserId")
    await _require_place_rights(session, access, incoming_user_id, "incomingUserId")
    if incoming_user_id == opportunity.owner_id or await _team_member(session, opportunity, incoming_user_id):
        raise Conflict("The incoming user already works this deal.", field="incomingUserId")
    role, seat_access = outgoing.sales_role, outgoing.access
    await session.delete(outgoing)
    await session.flush()
    session.add(
        OpportunityTeamMember(
            tenant_id=opportunity.tenant_id, id=uuid.uuid4(), opportunity_id=opportunity.id,
            user_id=incoming_user_id, sales_role=role, access=seat_access,
        )
    )  # fmt: skip
    await session.flush()
    audit_log.record(
        session, access, record_type="opportunity", record_id=opportunity.id, action="team_member_swapped",
        changes={"team_member": {"old": {"user_id": str(outgoing_user_id), "sales_role": role.value},
                                 "new": {"user_id": str(incoming_user_id), "sales_role": role.value}}},
        reason=reason,
    )  # fmt: skip
    return opportunity
