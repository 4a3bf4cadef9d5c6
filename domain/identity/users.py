"""People who sign in: internal staff and partner users.

The model is a leaf the sign-in and access modules read; what admins do to users is in `user_admin.py`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ARRAY, Boolean, ForeignKeyConstraint, String, UniqueConstraint, Uuid, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Resource
from domain.access.unit_of_work import Protected, across_tenants
from domain.identity.tenants import Tenant
from domain.shared.base import Base, TenantScoped, Timestamped

INTERNAL_ROLES = frozenset(
    {
        "admin",
        "sales_director",
        "sales_manager",
        "account_manager",
        "solution_specialist",
        "industry_specialist",
        "product_specialist",
        "negotiator",
        "channel_manager",
        "finance",
        "service_agent",
    }
)
PARTNER_ROLES = frozenset({"partner_admin", "partner_manager", "partner_sales"})
MACHINE_ROLES = frozenset({"erp_integration"})
ALL_ROLES = INTERNAL_ROLES | PARTNER_ROLES | MACHINE_ROLES


class User(Protected, TenantScoped, Timestamped, Base):
    """A person with a home organization, an optional manager and territory, and roles."""

    __resource__ = Resource.USER
    __label__ = "user"

    __tablename__ = "app_user"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "organization_id"], ["organization.tenant_id", "organization.id"]),
        ForeignKeyConstraint(["tenant_id", "manager_id"], ["app_user.tenant_id", "app_user.id"]),
        ForeignKeyConstraint(["tenant_id", "territory_id"], ["territory.tenant_id", "territory.id"]),
        UniqueConstraint("tenant_id", "email"),
    )

    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    manager_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    territory_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # The language of the mail the user receives: en or zh-CN.
    locale: Mapped[str] = mapped_column(String(10), default="en", server_default="en")


@dataclass(frozen=True)
class UserOfTenant:
    """Which user of which tenant an e-mail address names."""

    user_id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_slug: str


async def active_users_with_email(
    session: AsyncSession, email: str, tenant_slug: str | None = None
) -> list[UserOfTenant]:
    """The active users with this e-mail in every tenant (or in one), for an operator's `crm token`."""
    statement = (
        select(User.id, User.tenant_id, Tenant.slug)
        .join(Tenant, Tenant.id == User.tenant_id)
        .where(User.email == email.strip().lower(), User.is_active)
    )
    if tenant_slug:
        statement = statement.where(Tenant.slug == tenant_slug)
    rows = await session.execute(across_tenants(statement, "an operator names a user by e-mail for a token"))
    return [UserOfTenant(row.id, row.tenant_id, row.slug) for row in rows]
