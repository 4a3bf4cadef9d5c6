"""Registering and authenticating machine clients (OAuth2 client credentials)."""

from __future__ import annotations

import secrets
import uuid

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.credentials import OAuthClient
from domain.errors import ErrorCode, FieldError, ValidationFailed
from domain.users import MACHINE_ROLES

_hasher = PasswordHasher()


async def register_client(
    session: AsyncSession, tenant_id: uuid.UUID, name: str, roles: list[str]
) -> tuple[OAuthClient, str]:
    """A new client of the tenant and its secret, which is shown once and kept only as an Argon2 hash."""
    unknown = sorted(set(roles) - MACHINE_ROLES)
    if unknown or not roles:
        raise ValidationFailed(
            [FieldError("roles", ErrorCode.INVALID, f"Machine clients take roles from {sorted(MACHINE_ROLES)}.")]
        )
    secret = secrets.token_urlsafe(32)
    client = OAuthClient(
        tenant_id=tenant_id, id=uuid.uuid4(), client_id=f"crm_{secrets.token_hex(8)}",
        secret_hash=_hasher.hash(secret), name=name.strip(), roles=sorted(set(roles)),
    )  # fmt: skip
    session.add(client)
    await session.flush()
    return client, secret


async def find_client(session: AsyncSession, client_id: str) -> OAuthClient | None:
    return (
        await session.execute(select(OAuthClient).where(OAuthClient.client_id == client_id, OAuthClient.is_active))
    ).scalar_one_or_none()


def secret_matches(client: OAuthClient, secret: str) -> bool:
    """Constant-time check of a presented secret against the stored hash."""
    try:
        return _hasher.verify(client.secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False
