"""Inviting and deactivating users: partner admins manage their own subtree's users, with partner roles only.

An invited user has no password: their invitation e-mail carries a single-use link to choose one.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.actor import Access, Action, Resource
from domain.access.visibility import get_or_raise
from domain.audit import trail as audit_log
from domain.channel.organizations import Organization
from domain.identity.sign_in.links import LinkPages, has_password, send_invitation
from domain.identity.sign_in.sessions import revoke_user_sessions
from domain.identity.users import INTERNAL_ROLES, PARTNER_ROLES, User
from domain.mail.templates import DEFAULT_LOCALE, SUPPORTED_LOCALES
from domain.shared.errors import Conflict, ErrorCode, Forbidden, Validator

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


async def invite_user(
    session: AsyncSession,
    access: Access,
    *,
    email: str,
    name: str,
    organization_id: uuid.UUID,
    roles: list[str],
    pages: LinkPages,
    locale: str | None = None,
) -> User:
    """Add a user to an organization the actor manages and queue their invitation e-mail in their locale.

    Partner organizations take partner roles only.
    """
    actor = access.actor
    if not access.can(Resource.USER, Action.CREATE):
        raise Forbidden("Your role may not add users.")
    v = Validator()
    clean_email = (v.require_text("email", email, max_length=320) or "").lower()
    if clean_email and not EMAIL_RE.match(clean_email):
        v.fail("email", ErrorCode.INVALID, "email must be an e-mail address such as name@example.com.")
    clean_name = v.require_text("name", name, max_length=200)
    if not roles:
        v.fail("roles", ErrorCode.REQUIRED, "Give at least one role.")
    clean_locale = locale or DEFAULT_LOCALE
    if clean_locale not in SUPPORTED_LOCALES:
        v.fail("locale", ErrorCode.INVALID, f"locale must be one of {', '.join(SUPPORTED_LOCALES)}.")
    v.raise_if_any()
    organization = await get_or_raise(
        session, access, Organization, Resource.ORGANIZATION, organization_id, field="organizationId"
    )
    if actor.is_partner and not organization.path.startswith(actor.organization_path or "\0"):
        raise Forbidden("Partner admins add users to their own organization and those below it only.")
    allowed = PARTNER_ROLES if organization.is_partner else INTERNAL_ROLES
    unknown = sorted(set(roles) - allowed)
    if unknown:
        kind = "partner" if organization.is_partner else "internal"
        v.fail(
            "roles", ErrorCode.INVALID, f"Users of this organization take {kind} roles only; not {', '.join(unknown)}."
        )
        v.raise_if_any()
    taken = (
        await session.execute(select(User.id).where(User.tenant_id == actor.tenant_id, User.email == clean_email))
    ).scalar_one_or_none()
    if taken is not None:
        raise Conflict("A user with that email already exists.", field="email")
    user = User(
        tenant_id=actor.tenant_id, id=uuid.uuid4(), email=clean_email, name=clean_name,
        organization_id=organization.id, roles=sorted(set(roles)), is_active=True, locale=clean_locale,
    )  # fmt: skip
    session.add(user)
    await session.flush()
    audit_log.record(
        session, access, record_type="user", record_id=user.id, action="invited",
        changes=audit_log.created_changes({"email": clean_email, "organization_id": organization.id,
                                           "roles": ", ".join(user.roles), "locale": clean_locale}),
    )  # fmt: skip
    await send_invitation(session, user, inviter=await _inviter(session, access), pages=pages)
    return user


async def _inviter(session: AsyncSession, access: Access) -> str | None:
    """Who the invitation e-mail says invited: the acting user's name and e-mail; None for a machine client."""
    if access.actor.user_id is None:
        return None
    me = await session.get(User, (access.actor.tenant_id, access.actor.user_id))
    return f"{me.name} ({me.email})" if me else access.actor.audit_name


async def resend_invitation(session: AsyncSession, access: Access, user_id: uuid.UUID, *, pages: LinkPages) -> User:
    """Send a user who has not yet set a password a new invitation; the link sent before stops working."""
    user = await get_or_raise(
        session, access, User, Resource.USER, user_id, action=Action.UPDATE, field="userId", for_update=True
    )
    v = Validator()
    if not user.is_active:
        v.fail("userId", ErrorCode.INVALID, "The user is deactivated; reactivate them before inviting them again.")
    elif await has_password(session, user.tenant_id, user.id):
        v.fail(
            "userId", ErrorCode.INVALID,
            "The user has already set a password; they can reset it from the sign-in page if they forgot it.",
        )  # fmt: skip
    v.raise_if_any()
    await send_invitation(session, user, inviter=await _inviter(session, access), pages=pages)
    audit_log.record(session, access, record_type="user", record_id=user.id, action="invitation resent")
    return user


async def set_user_active(
    session: AsyncSession, access: Access, user_id: uuid.UUID, active: bool, reason: str | None
) -> User:
    """Deactivate (or reactivate) a user the actor manages; a deactivated user's tokens stop working at once."""
    v = Validator()
    reason = v.require_text("reason", reason, max_length=2000, required=not active)
    if user_id == access.actor.user_id:
        v.fail("id", ErrorCode.INVALID, "You cannot change your own access.")
    v.raise_if_any()
    user = await get_or_raise(session, access, User, Resource.USER, user_id, action=Action.UPDATE, for_update=True)
    if user.is_active == active:
        v.fail("id", ErrorCode.INVALID, f"The user is already {'active' if active else 'deactivated'}.")
        v.raise_if_any()
    user.is_active = active
    await session.flush()
    if not active:
        await revoke_user_sessions(session, user.tenant_id, [user.id], "user deactivated")
    audit_log.record(
        session, access, record_type="user", record_id=user.id, action="reactivated" if active else "deactivated",
        changes={"is_active": {"old": not active, "new": active}}, reason=reason,
    )  # fmt: skip
    return user


async def set_user_roles(session: AsyncSession, access: Access, user_id: uuid.UUID, roles: list[str]) -> User:
    """Replace the roles of a user the actor manages; partner users take partner roles only, and nobody changes
    their own. The new roles apply from the user's next request."""
    v = Validator()
    if user_id == access.actor.user_id:
        v.fail("id", ErrorCode.INVALID, "You cannot change your own roles.")
    if not roles:
        v.fail("roles", ErrorCode.REQUIRED, "Give at least one role.")
    v.raise_if_any()
    user = await get_or_raise(session, access, User, Resource.USER, user_id, action=Action.UPDATE, for_update=True)
    organization = await session.get(Organization, (user.tenant_id, user.organization_id))
    assert organization is not None
    allowed = PARTNER_ROLES if organization.is_partner else INTERNAL_ROLES
    unknown = sorted(set(roles) - allowed)
    if unknown:
        kind = "partner" if organization.is_partner else "internal"
        message = f"Users of this organization take {kind} roles only; not {', '.join(unknown)}."
        v.fail("roles", ErrorCode.INVALID, message)
        v.raise_if_any()
    before, after = sorted(user.roles), sorted(set(roles))
    if before == after:
        return user
    user.roles = after
    await session.flush()
    audit_log.record(
        session, access, record_type="user", record_id=user.id, action="roles_changed",
        changes={"roles": {"old": ", ".join(before), "new": ", ".join(after)}},
    )  # fmt: skip
    return user


async def add_first_admin(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    organization_id: uuid.UUID,
    *,
    email: str,
    name: str | None,
    locale: str,
    pages: LinkPages,
) -> tuple[User, str]:
    """A new tenant's first admin, in its enterprise organization, and their invitation link (also e-mailed).

    An operator's job at tenant creation, so no actor: nobody of the tenant exists yet to act.
    """
    v = Validator()
    clean_email = (v.require_text("email", email, max_length=320) or "").lower()
    if clean_email and not EMAIL_RE.match(clean_email):
        v.fail("email", ErrorCode.INVALID, "email must be an e-mail address such as name@example.com.")
    clean_name = v.require_text("name", name or clean_email.partition("@")[0], max_length=200)
    if locale not in SUPPORTED_LOCALES:
        v.fail("locale", ErrorCode.INVALID, f"locale must be one of {', '.join(SUPPORTED_LOCALES)}.")
    v.raise_if_any()
    user = User(
        tenant_id=tenant_id, id=uuid.uuid4(), email=clean_email, name=clean_name, organization_id=organization_id,
        roles=["admin"], is_active=True, locale=locale,
    )  # fmt: skip
    session.add(user)
    await session.flush()
    return user, await send_invitation(session, user, inviter=None, pages=pages)
