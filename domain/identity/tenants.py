"""Tenants: one enterprise each; nothing crosses between them."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ARRAY, DateTime, Integer, Numeric, String, Uuid, any_, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.shared.base import Base, new_id


class Tenant(Base):
    """An enterprise using the CRM, with its channel."""

    __tablename__ = "tenant"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Bumped on every policy change so cached enforcers know to reload.
    policy_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # How long an approved deal registration protects its partner, in days.
    deal_protection_days: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    # How long a partner has to accept or decline an offered lead, in hours.
    partner_lead_sla_hours: Mapped[int] = mapped_column(Integer, default=48, server_default="48")
    # A quote line discount above this percentage needs approval.
    quote_approval_discount_percent: Mapped[Decimal] = mapped_column(
        Numeric(5, 2), default=Decimal("15"), server_default="15"
    )
    # Days from an order to its payment being due.
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # How long before a contract ends its renewal opportunity is opened, in days.
    contract_renewal_days: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    # Who must pass a second factor at sign-in: none, admins, internal (every internal user) or everyone.
    mfa_requirement: Mapped[str] = mapped_column(String(10), default="none", server_default="none")
    # Browser front ends of this tenant (scheme://host[:port]): CORS and sign-in redirects go to these only.
    frontend_origins: Mapped[list[str]] = mapped_column(ARRAY(String(300)), default=list, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


async def origin_registered(session: AsyncSession, origin: str) -> bool:
    """Whether any tenant registered this browser origin (scheme://host[:port]) as one of its front ends."""
    return bool(await session.scalar(select(exists().where(literal(origin) == any_(Tenant.frontend_origins)))))
