"""What signed-in people do to their own sign-in (password, second factor, sessions) and the tenant's sign-in rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.actor import Access, Action, Actor, Resource
from domain.audit import trail as audit_log
from domain.channel.organizations import Organization
from domain.identity.sign_in import links, mfa
from domain.identity.sign_in.models import AuthSession, MfaRequirement, UserCredential
from domain.identity.sign_in.passwords import check_new_password, hash_password, verify_password
from domain.identity.sign_in.sessions import live_sessions, revoke_own_session, revoke_user_sessions
from domain.identity.tenants import Tenant
from domain.identity.users import User
from domain.shared.base import utcnow
from domain.shared.errors import ErrorCode, FieldError, Forbidden, NotFound, ValidationFailed, Validator


def _person(actor: Actor) -> uuid.UUID:
    if actor.user_id is None:
        raise Forbidden("Only people have a sign-in; machine clients use client credentials.")
    return actor.user_id


@dataclass(frozen=True)
class SignInStatus:
    """The viewer's own sign-in: whether a password and a second factor are set, and whether MFA is required."""

    has_password: bool
    totp_enabled: bool
    recovery_codes_left: int
    mfa_required: bool


async def _user_and_rule(session: AsyncSession, actor: Actor) -> tuple[User, str, str]:
    user, kind, requirement = (
        await session.execute(
            select(User, Organization.kind, Tenant.mfa_requirement)
            .join(Organization, (Organization.tenant_id == User.tenant_id) & (Organization.id == User.organization_id))
            .join(Tenant, Tenant.id == User.tenant_id)
            .where(User.tenant_id == actor.tenant_id, User.id == _person(actor))
        )
    ).one()
    return user, kind, requirement


async def sign_in_status(session: AsyncSession, actor: Actor) -> SignInStatus:
    user, kind, requirement = await _user_and_rule(session, actor)
    credential = await session.get(UserCredential, (actor.tenant_id, user.id))
    return SignInStatus(
        has_password=bool(credential and credential.password_hash),
        totp_enabled=bool(credential and credential.totp_enabled_at),
        recovery_codes_left=len(credential.recovery_code_hashes or []) if credential else 0,
        mfa_required=mfa.mfa_required(requirement, list(user.roles), kind),
    )


def _audit(session: AsyncSession, access: Access, action: str, reason: str | None = None) -> None:
    """Record a change to the viewer's own sign-in on their user record."""
    audit_log.record(session, access, record_type="user", record_id=_person(access.actor), action=action, reason=reason)


async def change_password(session: AsyncSession, access: Access, current: str, new: str) -> int:
    """Set a new password after checking the current one; every other session ends. Returns how many ended."""
    actor = access.actor
    user, _, _ = await _user_and_rule(session, actor)
    credential = await mfa.credential_for_update(session, actor.tenant_id, user.id)
    if not await verify_password(credential.password_hash, current or ""):
        raise ValidationFailed([FieldError("currentPassword", ErrorCode.INVALID, "currentPassword is wrong.")])
    check_new_password(new, field="newPassword", personal=[user.email, user.name])
    if await verify_password(credential.password_hash, new):
        raise ValidationFailed(
            [FieldError("newPassword", ErrorCode.INVALID, "newPassword must differ from the current password.")]
        )
    credential.password_hash = await hash_password(new)
    credential.password_changed_at = utcnow()
    await links.cancel_open_links(session, user)
    await links.notify_password_changed(session, user)
    _audit(session, access, "password_changed")
    return await revoke_user_sessions(session, actor.tenant_id, [user.id], "password changed", keep=actor.session_id)


async def begin_totp_enrolment(session: AsyncSession, actor: Actor) -> mfa.Enrolment:
    user, _, _ = await _user_and_rule(session, actor)
    credential = await mfa.credential_for_update(session, actor.tenant_id, user.id)
    return mfa.begin_enrolment(credential, user.email)


async def confirm_totp_enrolment(session: AsyncSession, access: Access, code: str) -> list[str]:
    actor = access.actor
    credential = await mfa.credential_for_update(session, actor.tenant_id, _person(actor))
    codes = await mfa.confirm_enrolment(credential, code)
    _audit(session, access, "two_factor_enabled")
    return codes


async def disable_totp(session: AsyncSession, access: Access, code: str) -> None:
    """Turn the second factor off with a fresh code, unless the tenant requires it of this user."""
    actor = access.actor
    user, kind, requirement = await _user_and_rule(session, actor)
    if mfa.mfa_required(requirement, list(user.roles), kind):
        raise Forbidden("Your organization requires two-factor sign-in for you; it cannot be turned off.")
    credential = await mfa.credential_for_update(session, actor.tenant_id, user.id)
    mfa.disable(credential, code)
    _audit(session, access, "two_factor_disabled")


async def regenerate_recovery_codes(session: AsyncSession, access: Access, code: str) -> list[str]:
    actor = access.actor
    credential = await mfa.credential_for_update(session, actor.tenant_id, _person(actor))
    codes = await mfa.regenerate_recovery_codes(credential, code)
    _audit(session, access, "recovery_codes_replaced")
    return codes


async def my_sessions(session: AsyncSession, actor: Actor) -> list[AuthSession]:
    return await live_sessions(session, actor.tenant_id, _person(actor))


async def revoke_session(session: AsyncSession, access: Access, session_id: uuid.UUID) -> None:
    """End one of the viewer's own sessions; someone else's, or an ended one, is not found."""
    actor = access.actor
    if not await revoke_own_session(session, actor.tenant_id, _person(actor), session_id):
        raise NotFound("No such session of yours.", field="id")
    _audit(session, access, "session_revoked")


@dataclass(frozen=True)
class SignInSettings:
    mfa_requirement: MfaRequirement
    frontend_origins: list[str]


def _settings_of(tenant: Tenant) -> SignInSettings:
    return SignInSettings(MfaRequirement(tenant.mfa_requirement), list(tenant.frontend_origins))


async def read_settings(session: AsyncSession, access: Access) -> SignInSettings:
    if not access.can(Resource.POLICY, Action.UPDATE):
        raise Forbidden("Only admins read the tenant's sign-in settings.")
    tenant = await session.get(Tenant, access.actor.tenant_id)
    assert tenant is not None
    return _settings_of(tenant)


def clean_origin(value: str, field: str, v: Validator) -> str | None:
    """scheme://host[:port] of a browser front end, lower-cased; https, or http for localhost only."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme not in ("https", "http")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
    ):
        v.fail(field, ErrorCode.INVALID, f"{value!r} is not an origin such as https://portal.example.com.")
        return None
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        v.fail(field, ErrorCode.INVALID, f"{value!r} must use https (plain http only for localhost).")
        return None
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")


async def change_settings(
    session: AsyncSession,
    access: Access,
    *,
    mfa_requirement: MfaRequirement | None,
    frontend_origins: list[str] | None,
) -> SignInSettings:
    """Change who must use a second factor and which front ends may call the API from a browser (admins)."""
    if not access.can(Resource.POLICY, Action.UPDATE):
        raise Forbidden("Only admins change the tenant's sign-in settings.")
    v = Validator()
    origins: list[str] | None = None
    if frontend_origins is not None:
        if len(frontend_origins) > 20:
            v.fail("frontendOrigins", ErrorCode.OUT_OF_RANGE, "Register at most 20 front-end origins.")
        cleaned = [clean_origin(o, "frontendOrigins", v) for o in frontend_origins[:20]]
        origins = sorted({o for o in cleaned if o})
    v.raise_if_any()
    tenant = await session.get(Tenant, access.actor.tenant_id, with_for_update=True)
    assert tenant is not None
    values: dict[str, object] = {}
    if mfa_requirement is not None:
        values["mfa_requirement"] = str(mfa_requirement)
    if origins is not None:
        values["frontend_origins"] = origins
    await audit_log.apply_and_record(session, access, tenant, "tenant", values)
    return _settings_of(tenant)
