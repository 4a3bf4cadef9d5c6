"""Passwords: Argon2id hashes, and the rules a new password must meet."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from domain.identity.codes import IdentityCode
from domain.shared.errors import ErrorCode, FieldError, ValidationFailed

MIN_LENGTH = 12
MAX_LENGTH = 256
# zxcvbn's 0-4 scale: 3 is "safely unguessable: moderate protection from offline slow-hash attacks".
MIN_STRENGTH = 3

_hasher = PasswordHasher()  # Argon2id with the library's RFC 9106 low-memory profile
_COMMON = frozenset(FREQUENCY_LISTS["passwords"])
# Verified when there is no account or no password, so that a wrong e-mail costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("no account has this password")
WEAK = IdentityCode.PASSWORD_TOO_WEAK


def password_problems(password: str, *, field: str = "password", personal: list[str] | None = None) -> list[FieldError]:
    """Why a new password is not acceptable (empty when it is): length, common passwords, guessability."""
    if not password:
        return [FieldError(field, ErrorCode.REQUIRED, f"{field} is required.")]
    if len(password) < MIN_LENGTH:
        return [FieldError(field, WEAK, f"{field} must be at least {MIN_LENGTH} characters long.")]
    if len(password) > MAX_LENGTH:
        return [FieldError(field, ErrorCode.TOO_LONG, f"{field} must be at most {MAX_LENGTH} characters.")]
    if "\x00" in password:
        return [FieldError(field, ErrorCode.INVALID, f"{field} must not contain NUL characters.")]
    if password.lower() in _COMMON:
        return [FieldError(field, WEAK, f"{field} is one of the most common passwords; choose another.")]
    result = zxcvbn(password, user_inputs=[p for p in personal or [] if p])
    if result["score"] < MIN_STRENGTH:
        feedback = result["feedback"]
        hint = " ".join(filter(None, [feedback.get("warning"), *feedback.get("suggestions", [])]))
        return [FieldError(field, WEAK, f"{field} is too easy to guess. {hint}".strip())]
    return []


def check_new_password(password: str, *, field: str = "password", personal: list[str] | None = None) -> None:
    """Raise ValidationFailed naming the field when the password is not acceptable."""
    problems = password_problems(password, field=field, personal=personal)
    if problems:
        raise ValidationFailed(problems)


async def hash_password(password: str) -> str:
    """An Argon2id hash, computed off the event loop."""
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored: str | None, presented: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, presented) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, presented: str) -> bool:
    """Whether the password matches the stored hash; a missing hash takes the same time and answers False."""
    return await asyncio.to_thread(_verify, stored, presented)


def needs_rehash(stored: str) -> bool:
    """Whether a stored hash was made with weaker parameters than today's."""
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True
