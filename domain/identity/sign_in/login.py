"""Signing in with a password, and what the second factor asks for next.

Nobody is signed in yet: the person's user is read through the named system access `sign-in` of their tenant.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.principals import ACTIVE_ORG_STATUSES, SIGN_IN
from domain.access.unit_of_work import system_unit_of_work
from domain.channel.organizations import Organization
from domain.identity.sign_in import mfa, throttle
from domain.identity.sign_in.models import UserCredential
from domain.identity.sign_in.passwords import hash_password, needs_rehash, verify_password
from domain.identity.tenants import Tenant
from domain.identity.users import User
from domain.shared.base import utcnow
from domain.shared.errors import ErrorCode, FieldError, ValidationFailed

WRONG_CREDENTIALS = "The e-mail or password is wrong."


@dataclass(frozen=True)
class SignInFailed:
    """A failed proof of identity; `retry_after` when this failure locked the account or address."""

    message: str
    retry_after: int | None = None


@dataclass(frozen=True)
class KnownUser:
    """The person a first factor proved, and the facts the second factor depends on."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    email: str


class NextStep(StrEnum):
    SIGNED_IN = "signed_in"
    VERIFY_CODE = "verify_code"  # TOTP is on: ask for a code
    ENROL = "enrol"  # the tenant requires a second factor the user has not set up


@dataclass(frozen=True)
class SecondFactor:
    step: NextStep
    enrolment: mfa.Enrolment | None = None


def _require(field: str, value: str | None, max_length: int) -> list[FieldError]:
    if value is None or not value.strip():
        return [FieldError(field, ErrorCode.REQUIRED, f"{field} is required.")]
    if len(value) > max_length:
        return [FieldError(field, ErrorCode.TOO_LONG, f"{field} must be at most {max_length} characters.")]
    return []


async def authenticate_password(
    session: AsyncSession, *, tenant_slug: str | None, email: str | None, password: str | None, address: str | None
) -> KnownUser | SignInFailed:
    """Check an e-mail and password of a tenant, counting failures; returns rather than raises so failures commit.

    Raises ValidationFailed for missing fields and RateLimited while the account or the address is locked.
    A wrong e-mail, an unknown tenant, a wrong password and an account that may not sign in get one answer,
    and each verifies one Argon2 hash, so neither the message nor the time tells which it was.
    """
    problems = _require("tenant", tenant_slug, 63) + _require("email", email, 320) + _require("password", password, 256)
    if problems:
        raise ValidationFailed(problems)
    assert tenant_slug is not None and email is not None and password is not None
    clean_email = email.strip().lower()
    tenant_id = (
        await session.execute(select(Tenant.id).where(Tenant.slug == tenant_slug.strip().lower()))
    ).scalar_one_or_none()
    keys = [throttle.account_key(tenant_id or uuid.UUID(int=0), clean_email), throttle.address_key(address)]
    await throttle.refuse_if_locked(session, keys)
    row = None
    if tenant_id is not None:
        uow = system_unit_of_work(session, tenant_id, SIGN_IN)
        statement = (
            select(User.id, User.email, UserCredential.password_hash)
            .join(Organization, (Organization.tenant_id == User.tenant_id) & (Organization.id == User.organization_id))
            .outerjoin(
                UserCredential, (UserCredential.tenant_id == User.tenant_id) & (UserCredential.user_id == User.id)
            )
            .where(
                uow.rows(User),
                func.lower(User.email) == clean_email,
                User.is_active.is_(True),
                Organization.status.in_(ACTIVE_ORG_STATUSES),
            )
        )
        row = (await session.execute(uow.mark(statement))).one_or_none()
    stored_hash = row.password_hash if row is not None else None
    if not await verify_password(stored_hash, password) or row is None or tenant_id is None:
        locks = [
            await throttle.record_failure(session, keys[0], throttle.ACCOUNT_RULE),
            await throttle.record_failure(session, keys[1], throttle.ADDRESS_RULE),
        ]
        retry_after = max((s for s in locks if s is not None), default=None)
        return SignInFailed(WRONG_CREDENTIALS, retry_after)
    await throttle.clear(session, keys[0])
    if stored_hash is not None and needs_rehash(stored_hash):
        credential = await mfa.credential_for_update(session, tenant_id, row.id)
        credential.password_hash = await hash_password(password)
    return KnownUser(tenant_id, row.id, row.email)


async def second_factor(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> SecondFactor:
    """What the user must do after the first factor: nothing, give a code, or enrol (the tenant requires it)."""
    uow = system_unit_of_work(session, tenant_id, SIGN_IN)
    user, org_kind, requirement = (
        await session.execute(
            uow.mark(
                select(User, Organization.kind, Tenant.mfa_requirement)
                .join(
                    Organization, (Organization.tenant_id == User.tenant_id) & (Organization.id == User.organization_id)
                )
                .join(Tenant, Tenant.id == User.tenant_id)
                .where(uow.rows(User), User.id == user_id)
            )
        )
    ).one()
    credential = await mfa.credential_for_update(session, tenant_id, user_id)
    if credential.totp_enabled_at is not None:
        return SecondFactor(NextStep.VERIFY_CODE)
    if mfa.mfa_required(requirement, list(user.roles), org_kind):
        return SecondFactor(NextStep.ENROL, mfa.begin_enrolment(credential, user.email))
    return SecondFactor(NextStep.SIGNED_IN)


async def pass_code(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, code: str | None, *, enrolling: bool
) -> list[str] | SignInFailed:
    """Check the second factor (or finish a required enrolment); returns the new recovery codes when enrolling.

    Raises RateLimited while the user's code attempts are locked.
    """
    if code is None or not code.strip():
        raise ValidationFailed([FieldError("code", ErrorCode.REQUIRED, "code is required.")])
    key = f"mfa:{tenant_id}:{user_id}"
    await throttle.refuse_if_locked(session, [key])
    credential = await mfa.credential_for_update(session, tenant_id, user_id)
    if enrolling:
        try:
            return await mfa.confirm_enrolment(credential, code)
        except ValidationFailed as exc:
            retry_after = await throttle.record_failure(session, key, throttle.ACCOUNT_RULE)
            return SignInFailed(exc.message, retry_after)
    if await mfa.pass_second_factor(credential, code):
        await throttle.clear(session, key)
        credential.updated_at = utcnow()
        return []
    retry_after = await throttle.record_failure(session, key, throttle.ACCOUNT_RULE)
    return SignInFailed("The code is wrong or was already used.", retry_after)
