"""What signed-in people do to their own sign-in (password, second factor, sessions) and the tenant's sign-in rules.

A person's own sign-in is theirs whatever the policy says of users, so their own user, organization and tenant
rule are read through the named system access `own sign-in` of their tenant, never shown to anyone else.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

from domain.access.actor import Action, Actor, Resource
from domain.access.unit_of_work import UnitOfWork, system_unit_of_work
from domain.audit import trail as audit_log
from domain.channel.organizations import Organization
from domain.identity.codes import IdentityCode
from domain.identity.sign_in import links, mfa
from domain.identity.sign_in.models import AuthSession, MfaRequirement, UserCredential
from domain.identity.sign_in.passwords import check_new_password, hash_password, verify_password
from domain.identity.sign_in.sessions import live_sessions, revoke_own_session, revoke_user_sessions
from domain.identity.tenants import Tenant
from domain.identity.users import User
from domain.shared.base import utcnow
from domain.shared.errors import ErrorCode, FieldError, Forbidden, NotFound, ValidationFailed, Validator

OWN_SIGN_IN = "own sign-in"


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


async def _user_and_rule(uow: UnitOfWork) -> tuple[User, str, str]:
    """The viewer's own user, their organization's kind and the tenant's MFA rule."""
    person = _person(uow.actor)
    own = system_unit_of_work(uow.session, uow.tenant_id, OWN_SIGN_IN)
    statement = (
        select(User, Organization.kind, Tenant.mfa_requirement)
        .join(Organization, (Organization.tenant_id == User.tenant_id) & (Organization.id == User.organization_id))
        .join(Tenant, Tenant.id == User.tenant_id)
        .where(own.rows(User), User.id == person)
    )
    user, kind, requirement = (await uow.session.execute(own.mark(statement))).one()
    return user, kind, requirement


async def sign_in_status(uow: UnitOfWork) -> SignInStatus:
    """The viewer's own sign-in methods, and whether the tenant requires a second factor of them."""
    user, kind, requirement = await _user_and_rule(uow)
    credential = await uow.session.get(UserCredential, (uow.tenant_id, user.id))
    return SignInStatus(
        has_password=bool(credential and credential.password_hash),
        totp_enabled=bool(credential and credential.totp_enabled_at),
        recovery_codes_left=len(credential.recovery_code_hashes or []) if credential else 0,
        mfa_required=mfa.mfa_required(requirement, list(user.roles), kind),
    )


def _audit(uow: UnitOfWork, action: str, reason: str | None = None) -> None:
    """Record a change to the viewer's own sign-in on their user record."""
    audit_log.record(
        uow.session, uow.access, record_type="user", record_id=_person(uow.actor), action=action, reason=reason
    )


async def change_password(uow: UnitOfWork, current: str, new: str) -> int:
    """Set a new password after checking the current one; every other session ends. Returns how many ended."""
    actor, session = uow.actor, uow.session
    user, _, _ = await _user_and_rule(uow)
    credential = await mfa.credential_for_update(session, actor.tenant_id, user.id)
    if not await verify_password(credential.password_hash, current or ""):
        raise ValidationFailed(
            [FieldError("currentPassword", IdentityCode.PASSWORD_WRONG, "currentPassword is wrong.")]
        )
    check_new_password(new, field="newPassword", personal=[user.email, user.name])
    if await verify_password(credential.password_hash, new):
        message = "newPassword must differ from the current password."
        raise ValidationFailed([FieldError("newPassword", IdentityCode.PASSWORD_UNCHANGED, message)])
    credential.password_hash = await hash_password(new)
    credential.password_changed_at = utcnow()
    await links.cancel_open_links(session, user)
    await links.notify_password_changed(session, user)
    _audit(uow, "password_changed")
    return await revoke_user_sessions(session, actor.tenant_id, [user.id], "password changed", keep=actor.session_id)


async def begin_totp_enrolment(uow: UnitOfWork) -> mfa.Enrolment:
    """A new authenticator secret for the viewer, to be confirmed with a code of it."""
    user, _, _ = await _user_and_rule(uow)
    credential = await mfa.credential_for_update(uow.session, uow.tenant_id, user.id)
    return mfa.begin_enrolment(credential, user.email)


async def confirm_totp_enrolment(uow: UnitOfWork, code: str) -> list[str]:
    """Turn the viewer's second factor on with a code of the new secret; returns the recovery codes."""
    credential = await mfa.credential_for_update(uow.session, uow.tenant_id, _person(uow.actor))
    codes = await mfa.confirm_enrolment(credential, code)
    _audit(uow, "two_factor_enabled")
    return codes


async def disable_totp(uow: UnitOfWork, code: str) -> None:
    """Turn the second factor off with a fresh code, unless the tenant requires it of this user."""
    user, kind, requirement = await _user_and_rule(uow)
    if mfa.mfa_required(requirement, list(user.roles), kind):
        raise Forbidden(
            "Your organization requires two-factor sign-in for you; it cannot be turned off.",
            code=IdentityCode.MFA_REQUIRED,
        )
    credential = await mfa.credential_for_update(uow.session, uow.tenant_id, user.id)
    mfa.disable(credential, code)
    _audit(uow, "two_factor_disabled")


async def regenerate_recovery_codes(uow: UnitOfWork, code: str) -> list[str]:
    """Replace the viewer's recovery codes with ten new ones, after a fresh authenticator code."""
    credential = await mfa.credential_for_update(uow.session, uow.tenant_id, _person(uow.actor))
    codes = await mfa.regenerate_recovery_codes(credential, code)
    _audit(uow, "recovery_codes_replaced")
    return codes


async def my_sessions(uow: UnitOfWork) -> list[AuthSession]:
    """The viewer's sessions that have not ended, newest use first."""
    return await live_sessions(uow.session, uow.tenant_id, _person(uow.actor))


async def revoke_session(uow: UnitOfWork, session_id: uuid.UUID) -> None:
    """End one of the viewer's own sessions; someone else's, or an ended one, is not found."""
    if not await revoke_own_session(uow.session, uow.tenant_id, _person(uow.actor), session_id):
        raise NotFound("No such session of yours.", field="id")
    _audit(uow, "session_revoked")


@dataclass(frozen=True)
class SignInSettings:
    mfa_requirement: MfaRequirement
    frontend_origins: list[str]


def _settings_of(tenant: Tenant) -> SignInSettings:
    return SignInSettings(MfaRequirement(tenant.mfa_requirement), list(tenant.frontend_origins))


async def read_settings(uow: UnitOfWork) -> SignInSettings:
    """The tenant's sign-in settings (admins)."""
    if not uow.access.can(Resource.POLICY, Action.UPDATE):
        raise Forbidden("Only admins read the tenant's sign-in settings.")
    tenant = await uow.session.get(Tenant, uow.tenant_id)
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
    uow: UnitOfWork,
    *,
    mfa_requirement: MfaRequirement | None,
    frontend_origins: list[str] | None,
) -> SignInSettings:
    """Change who must use a second factor and which front ends may call the API from a browser (admins)."""
    if not uow.access.can(Resource.POLICY, Action.UPDATE):
        raise Forbidden("Only admins change the tenant's sign-in settings.")
    v = Validator()
    origins: list[str] | None = None
    if frontend_origins is not None:
        if len(frontend_origins) > 20:
            v.fail("frontendOrigins", ErrorCode.OUT_OF_RANGE, "Register at most 20 front-end origins.")
        cleaned = [clean_origin(o, "frontendOrigins", v) for o in frontend_origins[:20]]
        origins = sorted({o for o in cleaned if o})
    v.raise_if_any()
    tenant = await uow.session.get(Tenant, uow.tenant_id, with_for_update=True)
    assert tenant is not None
    values: dict[str, object] = {}
    if mfa_requirement is not None:
        values["mfa_requirement"] = str(mfa_requirement)
    if origins is not None:
        values["frontend_origins"] = origins
    await audit_log.apply_and_record(uow.session, uow.access, tenant, "tenant", values)
    return _settings_of(tenant)
