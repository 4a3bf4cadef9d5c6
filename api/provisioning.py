"""Create a tenant with its enterprise organization and default policies."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.channel.organizations import Organization, OrganizationKind, child_path
from domain.identity.tenants import Tenant
from domain.shared.base import new_id
from domain.shared.errors import ErrorCode, FieldError, ValidationFailed
from permissions.engine import seed_default_policies

# 2-63 lower-case letters, digits and hyphens, not starting or ending with a hyphen (a DNS label, so it can
# name a subdomain).
TENANT_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,61}[a-z0-9]")


def check_tenant_slug(slug: str) -> None:
    """Raise ValidationFailed (field "slug") unless the slug is 2-63 lower-case letters, digits and inner hyphens."""
    if not TENANT_SLUG.fullmatch(slug):
        raise ValidationFailed(
            [
                FieldError(
                    "slug",
                    ErrorCode.INVALID,
                    f"The tenant slug {slug!r} is not valid: use 2 to 63 lower-case letters, digits and hyphens, "
                    "not starting or ending with a hyphen (e.g. acme-china).",
                )  # fmt: skip
            ]
        )


async def create_tenant(session: AsyncSession, slug: str, name: str) -> tuple[Tenant, Organization]:
    """A new tenant, its root (enterprise) organization and the default policy set, in one transaction."""
    tenant = Tenant(id=new_id(), slug=slug, name=name, policy_version=1)
    session.add(tenant)
    await session.flush()
    org_id = new_id()
    enterprise = Organization(
        tenant_id=tenant.id, id=org_id, name=name, kind=OrganizationKind.ENTERPRISE, path=child_path(None, org_id)
    )
    session.add(enterprise)
    await seed_default_policies(session, tenant.id)
    await session.flush()
    return tenant, enterprise


async def find_tenant(session: AsyncSession, slug: str) -> Tenant | None:
    return (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()
