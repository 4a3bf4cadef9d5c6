"""Accounts (customer companies) and their contacts: the models."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import Enum, ForeignKeyConstraint, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import Base, Timestamped, TenantScoped


class LifecycleStage(StrEnum):
    PROSPECT = "prospect"
    CUSTOMER = "customer"
    FORMER_CUSTOMER = "former_customer"


class BuyingRole(StrEnum):
    DECISION_MAKER = "decision_maker"
    INFLUENCER = "influencer"
    USER = "user"
    GATEKEEPER = "gatekeeper"
    CHAMPION = "champion"


class Account(TenantScoped, Timestamped, Base):
    """A customer company."""

    __tablename__ = "account"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["app_user.tenant_id", "app_user.id"]),
        ForeignKeyConstraint(["tenant_id", "territory_id"], ["territory.tenant_id", "territory.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "managing_partner_id"], ["organization.tenant_id", "organization.id"]
        ),
        Index("ix_account_owner", "tenant_id", "owner_id"),
        Index("ix_account_territory", "tenant_id", "territory_id"),
        Index("ix_account_partner", "tenant_id", "managing_partner_id"),
        Index("ix_account_normalized_name", "tenant_id", "normalized_name"),
        Index("ix_account_order_name", "tenant_id", "name", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    normalized_name: Mapped[str] = mapped_column(String(200))
    tax_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    web_domain: Mapped[str | None] = mapped_column(String(253), nullable=True)
    industry: Mapped[str | None] = mapped_column(String(100), nullable=True)
    grade: Mapped[str | None] = mapped_column(String(20), nullable=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    territory_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    managing_partner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    lifecycle_stage: Mapped[LifecycleStage] = mapped_column(
        Enum(LifecycleStage, name="lifecycle_stage"), default=LifecycleStage.PROSPECT
    )


class Contact(TenantScoped, Timestamped, Base):
    """A person at an account, with their part in the buying centre."""

    __tablename__ = "contact"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "account_id"], ["account.tenant_id", "account.id"], ondelete="CASCADE"),
        Index("ix_contact_account", "tenant_id", "account_id"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    buying_role: Mapped[BuyingRole | None] = mapped_column(Enum(BuyingRole, name="buying_role"), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
