"""Creating a tenant: the tenant, its enterprise organization, its default policies and, when asked, its first admin.

It spans identity (the tenant, its admin), the channel (the enterprise at the root of the partner tree) and
permissions (the default policy set), and owns its transaction: all of it is created, or nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.unit_of_work import system_unit_of_work
from domain.channel.organizations import Organization, OrganizationKind, child_path
from domain.identity.codes import IdentityCode
from domain.identity.sign_in.links import LinkPages
from domain.identity.tenants import Tenant, check_tenant_slug, find_tenant, new_tenant
from domain.identity.user_admin import add_first_admin
from domain.shared.base import new_id
from domain.shared.errors import Conflict, ErrorCode, FieldError, ValidationFailed
from permissions.engine import seed_default_policies
from services.unit_of_work import Sessions

# The named system access of tenant creation: nobody of the tenant exists yet to act.
TENANT_CREATION = "tenant creation"


@dataclass(frozen=True)
class FirstAdmin:
    """Who is to be the new tenant's first admin: invited by e-mail to choose a password."""

    email: str
    name: str | None
    locale: str
    pages: LinkPages


@dataclass(frozen=True)
class CreatedTenant:
    """A new tenant and, when one was asked for, its first admin's e-mail and invitation link."""

    tenant_id: uuid.UUID
    admin_email: str | None = None
    invitation_link: str | None = None


async def create_tenant(session: AsyncSession, slug: str, name: str) -> tuple[Tenant, Organization]:
    """A new tenant, its root (enterprise) organization and the default policy set, in the caller's transaction."""
    tenant = new_tenant(session, slug, name)
    await session.flush()
    org_id = new_id()
    enterprise = Organization(
        tenant_id=tenant.id, id=org_id, name=name, kind=OrganizationKind.ENTERPRISE, path=child_path(None, org_id)
    )
    session.add(enterprise)
    await seed_default_policies(session, tenant.id)
    await session.flush()
    return tenant, enterprise


async def provision_tenant(sessions: Sessions, slug: str, name: str, admin: FirstAdmin | None = None) -> CreatedTenant:
    """Create a tenant (and its first admin, when given) in one transaction.

    Raises ValidationFailed for a bad slug (field "slug"), name or admin, and Conflict (TENANT_SLUG_TAKEN, field
    "slug") when the slug is taken; nothing is created then.
    """
    check_tenant_slug(slug)
    if not name.strip():
        raise ValidationFailed([FieldError("name", ErrorCode.REQUIRED, "The tenant name must not be blank.")])
    async with sessions() as session, session.begin():
        if await find_tenant(session, slug) is not None:
            raise Conflict(f"Tenant {slug} already exists.", field="slug", code=IdentityCode.TENANT_SLUG_TAKEN)
        tenant, enterprise = await create_tenant(session, slug, name.strip())
        if admin is None:
            return CreatedTenant(tenant.id)
        uow = system_unit_of_work(session, tenant.id, TENANT_CREATION)
        user, link = await add_first_admin(
            uow, enterprise.id, email=admin.email, name=admin.name, locale=admin.locale, pages=admin.pages
        )
        return CreatedTenant(tenant.id, user.email, link)


async def tenant_by_slug(sessions: Sessions, slug: str) -> Tenant | None:
    """The tenant with this slug, or None."""
    async with sessions() as session:
        return await find_tenant(session, slug)
