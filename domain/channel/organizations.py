"""Organizations: the enterprise itself and its channel partners, as a tree."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import ARRAY, Enum, ForeignKeyConstraint, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from domain.shared.base import Base, TenantScoped, Timestamped
from domain.shared.record_versions import Versioned


class OrganizationKind(StrEnum):
    ENTERPRISE = "enterprise"
    DISTRIBUTOR = "distributor"
    DEALER = "dealer"
    RESELLER = "reseller"
    AGENT = "agent"


PARTNER_KINDS = frozenset(
    {OrganizationKind.DISTRIBUTOR, OrganizationKind.DEALER, OrganizationKind.RESELLER, OrganizationKind.AGENT}
)


class PartnerTier(StrEnum):
    PLATINUM = "platinum"
    GOLD = "gold"
    SILVER = "silver"
    REGISTERED = "registered"


class OrganizationStatus(StrEnum):
    PROSPECT = "prospect"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


def child_path(parent_path: str | None, org_id: uuid.UUID) -> str:
    """Materialized path of a node: its ancestors' ids and its own, slash-delimited."""
    return f"{parent_path or '/'}{org_id.hex}/"


class Organization(TenantScoped, Timestamped, Versioned, Base):
    """The enterprise or one of its partners; `path` lists the ids from the root down."""

    audit_record_type = "organization"
    bookkeeping_fields = frozenset({"path"})  # follows the parent

    __tablename__ = "organization"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["organization.tenant_id", "organization.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "channel_manager_id"], ["app_user.tenant_id", "app_user.id"], use_alter=True
        ),
        Index("ix_organization_path", "tenant_id", "path", postgresql_ops={"path": "text_pattern_ops"}),
    )

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganizationKind] = mapped_column(Enum(OrganizationKind, name="organization_kind"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    path: Mapped[str] = mapped_column(String(2000))
    tier: Mapped[PartnerTier | None] = mapped_column(Enum(PartnerTier, name="partner_tier"), nullable=True)
    status: Mapped[OrganizationStatus] = mapped_column(
        Enum(OrganizationStatus, name="organization_status"), default=OrganizationStatus.ACTIVE
    )
    # Product lines and industries the partner is qualified for.
    specializations: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list, server_default="{}")
    # Territories the partner serves.
    region_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list, server_default="{}")
    # The internal user who owns the relationship with this partner.
    channel_manager_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)

    @property
    def is_partner(self) -> bool:
        return self.kind in PARTNER_KINDS
