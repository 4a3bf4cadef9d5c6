"""The second factor: TOTP (RFC 6238) with an authenticator app, and one-time recovery codes."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.channel.organizations import PARTNER_KINDS
from domain.identity.codes import IdentityCode
from domain.identity.sign_in.models import MfaRequirement, UserCredential
from domain.shared.base import utcnow
from domain.shared.errors import FieldError, ValidationFailed

RECOVERY_CODE_COUNT = 10
ISSUER_NAME = "channel-crm"
_recovery_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@dataclass(frozen=True)
class Enrolment:
    """A new TOTP secret, waiting for the user to prove their authenticator holds it."""

    secret: str
    otpauth_uri: str


def mfa_required(requirement: str, roles: list[str], organization_kind: str) -> bool:
    """Whether the tenant's rule makes this user pass a second factor."""
    if requirement == MfaRequirement.EVERYONE:
        return True
    if requirement == MfaRequirement.INTERNAL:
        return organization_kind not in PARTNER_KINDS
    if requirement == MfaRequirement.ADMINS:
        return bool({"admin", "partner_admin"} & set(roles))
    return False


async def credential_for_update(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> UserCredential:
    """The user's credential row, locked, created empty when the user has none yet."""
    row = (
        await session.execute(
            select(UserCredential)
            .where(UserCredential.tenant_id == tenant_id, UserCredential.user_id == user_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        row = UserCredential(tenant_id=tenant_id, user_id=user_id, recovery_code_hashes=[])
        session.add(row)
        await session.flush()
    return row


def begin_enrolment(credential: UserCredential, account_name: str, issuer: str = ISSUER_NAME) -> Enrolment:
    """Give the credential a new, not yet enabled, TOTP secret (replacing an unconfirmed one)."""
    if credential.totp_enabled_at is not None:
        raise ValidationFailed(
            [
                FieldError(
                    None,
                    IdentityCode.MFA_ALREADY_ENABLED,
                    "Two-factor sign-in is already on; turn it off first to re-enrol.",
                )
            ]
        )
    secret = pyotp.random_base32()
    credential.totp_secret = secret
    credential.totp_last_step = None
    return Enrolment(secret, pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=issuer))


def _bad_code(field: str) -> ValidationFailed:
    return ValidationFailed(
        [FieldError(field, IdentityCode.MFA_CODE_WRONG, f"{field} is not a valid code; try the current one.")]
    )


def _accept_totp(credential: UserCredential, code: str) -> bool:
    """A current TOTP code (one step of clock drift either way), good once."""
    if not credential.totp_secret or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(credential.totp_secret)
    step_now = int(time.time()) // totp.interval
    for step in (step_now, step_now - 1, step_now + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            if credential.totp_last_step is not None and step <= credential.totp_last_step:
                return False  # replayed
            credential.totp_last_step = step
            return True
    return False


def _new_recovery_codes() -> list[str]:
    return [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]


async def _hash_codes(codes: list[str]) -> list[str]:
    return await asyncio.to_thread(lambda: [_recovery_hasher.hash(c) for c in codes])


async def confirm_enrolment(credential: UserCredential, code: str, *, field: str = "code") -> list[str]:
    """Turn TOTP on once the user shows a code from the new secret; returns the recovery codes, shown this once."""
    if credential.totp_enabled_at is not None:
        raise ValidationFailed(
            [FieldError(None, IdentityCode.MFA_ALREADY_ENABLED, "Two-factor sign-in is already on.")]
        )
    if not credential.totp_secret:
        raise ValidationFailed([FieldError(None, IdentityCode.MFA_ENROLMENT_NOT_STARTED, "Start enrolment first.")])
    if not _accept_totp(credential, code.strip()):
        raise _bad_code(field)
    codes = _new_recovery_codes()
    credential.recovery_code_hashes = await _hash_codes(codes)
    credential.totp_enabled_at = utcnow()
    return codes


def _matching_recovery_code(hashes: list[str], code: str) -> int | None:
    for index, stored in enumerate(hashes):
        try:
            if _recovery_hasher.verify(stored, code):
                return index
        except (VerificationError, InvalidHashError):
            continue
    return None


async def pass_second_factor(credential: UserCredential, code: str) -> bool:
    """Check a TOTP code, or spend a recovery code (each good once); True when the user passed."""
    code = code.strip().lower()
    if credential.totp_enabled_at is None:
        return False
    if _accept_totp(credential, code):
        return True
    if "-" not in code or len(code) > 20:
        return False
    hashes = list(credential.recovery_code_hashes or [])
    index = await asyncio.to_thread(_matching_recovery_code, hashes, code)
    if index is None:
        return False
    del hashes[index]
    credential.recovery_code_hashes = hashes
    return True


def require_fresh_code(credential: UserCredential, code: str, *, field: str = "code") -> None:
    """For turning TOTP off or new recovery codes: a current authenticator code, not a recovery code."""
    if credential.totp_enabled_at is None:
        raise ValidationFailed([FieldError(None, IdentityCode.MFA_NOT_ENABLED, "Two-factor sign-in is not on.")])
    if not _accept_totp(credential, code.strip()):
        raise _bad_code(field)


def disable(credential: UserCredential, code: str) -> None:
    """Turn TOTP off with a fresh code; the secret and the recovery codes are dropped."""
    require_fresh_code(credential, code)
    credential.totp_secret = None
    credential.totp_enabled_at = None
    credential.totp_last_step = None
    credential.recovery_code_hashes = []


async def regenerate_recovery_codes(credential: UserCredential, code: str) -> list[str]:
    """Replace every recovery code with ten new ones (after a fresh code)."""
    require_fresh_code(credential, code)
    codes = _new_recovery_codes()
    credential.recovery_code_hashes = await _hash_codes(codes)
    return codes
