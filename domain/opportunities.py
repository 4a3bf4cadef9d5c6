"""Opportunities, the teams that work them and the partners linked to them: the models."""

from __future__ import annotations

import uuid
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
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import Base, Timestamped, TenantScoped


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


class Opportunity(TenantScoped, Timestamped, Base):
    """A potential sale to an account, owned by one user and worked by a team."""

    __tablename__ = "opportunity"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "account_id"], ["account.tenant_id", "account.id"]),
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["app_user.tenant_id", "app_user.id"]),
        ForeignKeyConstraint(["tenant_id", "territory_id"], ["territory.tenant_id", "territory.id"]),
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
    close_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    probability: Mapped[int] = mapped_column(Integer)
    forecast_category: Mapped[ForecastCategory] = mapped_column(Enum(ForecastCategory, name="forecast_category"))
    margin: Mapped[Decimal | None] = mapped_column(Numeric(7, 4), nullable=True)
    internal_notes: Mapped[str | None] = mapped_column(Text, nullable=True)


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
