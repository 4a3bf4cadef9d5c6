"""Tenants: one enterprise each; nothing crosses between them."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ARRAY, DateTime, Integer, Numeric, String, Uuid, any_, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.shared.base import Base, new_id
from domain.shared.errors import ErrorCode, FieldError, ValidationFailed

# 2-63 lower-case letters, digits and hyphens, not starting or ending with a hyphen (a DNS label, so it can
# name a subdomain).
TENANT_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,61}[a-z0-9]")


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


def check_tenant_slug(slug: str) -> None:
    """Raise ValidationFailed (field "slug") unless the slug is 2-63 lower-case letters, digits and inner hyphens."""
    if not TENANT_SLUG.fullmatch(slug):
        message = (
            f"The tenant slug {slug!r} is not valid: use 2 to 63 lower-case letters, digits and hyphens, "
            "not starting or ending with a hyphen (e.g. acme-china)."
        )
        raise ValidationFailed([FieldError("slug", ErrorCode.INVALID, message)])


async def find_tenant(session: AsyncSession, slug: str) -> Tenant | None:
    """The tenant with this slug, or None."""
    return (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()


def new_tenant(session: AsyncSession, slug: str, name: str) -> Tenant:
    """A new tenant in the session, with the first policy version; its organization and policies come next."""
    tenant = Tenant(id=new_id(), slug=slug, name=name, policy_version=1)
    session.add(tenant)
    return tenant
