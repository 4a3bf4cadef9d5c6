"""What admins do to the users they manage: add and invite them, change their roles, deactivate them.

Partner admins manage their own subtree's users, with partner roles only. An invited user has no password:
their invitation e-mail carries a single-use link to choose one. The User model itself is in `users.py`, a leaf
the sign-in and access modules import, which these use cases import in turn.
"""

from __future__ import annotations

import re
import uuid

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import UnitOfWork, system_unit_of_work
from domain.audit import trail as audit_log
from domain.channel.organizations import Organization
from domain.identity.codes import IdentityCode
from domain.identity.sign_in.links import LinkPages, has_password, send_invitation
from domain.identity.sign_in.sessions import revoke_user_sessions
from domain.identity.users import INTERNAL_ROLES, PARTNER_ROLES, User
from domain.mail.templates import DEFAULT_LOCALE, SUPPORTED_LOCALES
from domain.shared.errors import Conflict, ErrorCode, FieldError, Forbidden, ValidationFailed, Validator

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_roles(v: Validator, organization: Organization, roles: list[str]) -> None:
    """Partner organizations take partner roles only, the enterprise internal roles only."""
    allowed = PARTNER_ROLES if organization.is_partner else INTERNAL_ROLES
    unknown = sorted(set(roles) - allowed)
    if unknown:
        kind = "partner" if organization.is_partner else "internal"
        message = f"Users of this organization take {kind} roles only; not {', '.join(unknown)}."
        v.fail("roles", IdentityCode.ROLE_NOT_ALLOWED, message)
        v.raise_if_any()


async def _email_taken(uow: UnitOfWork, email: str) -> bool:
    """Whether any user of the tenant has the e-mail, whether the actor sees them or not (e-mails are unique)."""
    tenant = system_unit_of_work(uow.session, uow.tenant_id, "unique e-mail")
    found = await uow.session.scalar(tenant.visible_columns(User, User.id).where(User.email == email))
    return found is not None


async def invite_user(
    uow: UnitOfWork,
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
    actor = uow.actor
    if not uow.access.can(Resource.USER, Action.CREATE):
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
    organization = await uow.get(Organization, organization_id, field="organizationId")
    if actor.is_partner and not organization.path.startswith(actor.organization_path or "\0"):
        raise Forbidden("Partner admins add users to their own organization and those below it only.")
    _check_roles(v, organization, roles)
    if await _email_taken(uow, clean_email):
        raise Conflict("A user with that email already exists.", field="email", code=IdentityCode.EMAIL_TAKEN)
    user = User(
        tenant_id=actor.tenant_id,
        id=uuid.uuid4(),
        email=clean_email,
        name=clean_name,
        organization_id=organization.id,
        roles=sorted(set(roles)),
        is_active=True,
        locale=clean_locale,
    )
    uow.session.add(user)
    await uow.session.flush()
    created = {"email": clean_email, "organization_id": organization.id, "roles": ", ".join(user.roles)}
    audit_log.record(
        uow.session,
        uow.access,
        record_type="user",
        record_id=user.id,
        action="invited",
        changes=audit_log.created_changes(created | {"locale": clean_locale}),
    )
    await send_invitation(uow.session, user, inviter=await _inviter(uow), pages=pages)
    return user


async def _inviter(uow: UnitOfWork) -> str | None:
    """Who the invitation e-mail says invited: the acting user's name and e-mail; None for a machine client.

    The actor's own user, read through the system access `invitation mail`: naming oneself needs no grant.
    """
    actor = uow.actor
    if actor.user_id is None:
        return None
    mail = system_unit_of_work(uow.session, actor.tenant_id, "invitation mail")
    me = (await mail.load(User, [actor.user_id])).get(actor.user_id)
    return f"{me.name} ({me.email})" if me else actor.audit_name


async def resend_invitation(uow: UnitOfWork, user_id: uuid.UUID, *, pages: LinkPages) -> User:
    """Send a user who has not yet set a password a new invitation; the link sent before stops working."""
    user = await uow.get(User, user_id, action=Action.UPDATE, field="userId", for_update=True)
    if not user.is_active:
        message = "The user is deactivated; reactivate them before inviting them again."
        raise ValidationFailed([FieldError("userId", IdentityCode.USER_DEACTIVATED, message)])
    if await has_password(uow.session, user.tenant_id, user.id):
        message = "The user has already set a password; they can reset it from the sign-in page if they forgot it."
        raise ValidationFailed([FieldError("userId", IdentityCode.INVITATION_ALREADY_ACCEPTED, message)])
    await send_invitation(uow.session, user, inviter=await _inviter(uow), pages=pages)
    audit_log.record(uow.session, uow.access, record_type="user", record_id=user.id, action="invitation resent")
    return user


async def set_user_active(uow: UnitOfWork, user_id: uuid.UUID, active: bool, reason: str | None) -> User:
    """Deactivate (or reactivate) a user the actor manages; a deactivated user's tokens stop working at once."""
    v = Validator()
    reason = v.require_text("reason", reason, max_length=2000, required=not active)
    if user_id == uow.actor.user_id:
        v.fail("id", IdentityCode.OWN_ACCESS_UNCHANGEABLE, "You cannot change your own access.")
    v.raise_if_any()
    user = await uow.get(User, user_id, action=Action.UPDATE, for_update=True)
    if user.is_active == active:
        message = f"The user is already {'active' if active else 'deactivated'}."
        raise ValidationFailed([FieldError("id", IdentityCode.USER_ALREADY_IN_STATE, message)])
    user.is_active = active
    await uow.session.flush()
    if not active:
        await revoke_user_sessions(uow.session, user.tenant_id, [user.id], "user deactivated")
    audit_log.record(
        uow.session,
        uow.access,
        record_type="user",
        record_id=user.id,
        action="reactivated" if active else "deactivated",
        changes={"is_active": {"old": not active, "new": active}},
        reason=reason,
    )
    return user


async def set_user_roles(uow: UnitOfWork, user_id: uuid.UUID, roles: list[str]) -> User:
    """Replace the roles of a user the actor manages; partner users take partner roles only, and nobody changes
    their own. The new roles apply from the user's next request."""
    v = Validator()
    if user_id == uow.actor.user_id:
        v.fail("id", IdentityCode.OWN_ACCESS_UNCHANGEABLE, "You cannot change your own roles.")
    if not roles:
        v.fail("roles", ErrorCode.REQUIRED, "Give at least one role.")
    v.raise_if_any()
    user = await uow.get(User, user_id, action=Action.UPDATE, for_update=True)
    # Which roles the user may hold is the rule of their organization's kind, whoever may see that organization.
    rules = system_unit_of_work(uow.session, uow.tenant_id, "role rules")
    organization = await rules.get(Organization, user.organization_id)
    _check_roles(v, organization, roles)
    before, after = sorted(user.roles), sorted(set(roles))
    if before == after:
        return user
    user.roles = after
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="user",
        record_id=user.id,
        action="roles_changed",
        changes={"roles": {"old": ", ".join(before), "new": ", ".join(after)}},
    )
    return user


async def add_first_admin(
    uow: UnitOfWork,
    organization_id: uuid.UUID,
    *,
    email: str,
    name: str | None,
    locale: str,
    pages: LinkPages,
) -> tuple[User, str]:
    """A new tenant's first admin, in its enterprise organization, and their invitation link (also e-mailed).

    An operator's job at tenant creation, in the tenant's system unit of work: nobody of the tenant exists yet.
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
        tenant_id=uow.tenant_id,
        id=uuid.uuid4(),
        email=clean_email,
        name=clean_name,
        organization_id=organization_id,
        roles=["admin"],
        is_active=True,
        locale=locale,
    )
    uow.session.add(user)
    await uow.session.flush()
    return user, await send_invitation(uow.session, user, inviter=None, pages=pages)
