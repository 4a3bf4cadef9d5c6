"""Machine clients (OAuth2 client credentials): registering and authenticating them, throttling failed attempts."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ARRAY, Boolean, ForeignKeyConstraint, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.identity.sign_in import throttle
from domain.identity.users import MACHINE_ROLES
from domain.shared.base import Base, TenantScoped, Timestamped
from domain.shared.errors import ErrorCode, FieldError, ValidationFailed


class OAuthClient(TenantScoped, Timestamped, Base):
    """A machine client of one tenant; only a hash of its secret is kept."""

    __tablename__ = "oauth_client"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),)

    client_id: Mapped[str] = mapped_column(String(80), unique=True)
    secret_hash: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


_hasher = PasswordHasher()
# Verified for a client id nobody has, so that an unknown id costs the same time as a wrong secret.
_UNKNOWN_CLIENT_HASH = _hasher.hash("no client has this secret")

# Client secrets are long and random, so guessing one is hopeless; what these locks guard is the server's time,
# an Argon2 verification per attempt. One address gets few tries; one client id somewhat more, so that a
# scattered attacker cannot lock a real client out as easily as it can be locked out from one address.
CLIENT_RULE = throttle.ThrottleRule(20, timedelta(minutes=15), timedelta(minutes=1), timedelta(hours=1))
CLIENT_ADDRESS_RULE = throttle.ThrottleRule(10, timedelta(minutes=15), timedelta(minutes=1), timedelta(hours=1))


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
        tenant_id=tenant_id,
        id=uuid.uuid4(),
        client_id=f"crm_{secrets.token_hex(8)}",
        secret_hash=_hasher.hash(secret),
        name=name.strip(),
        roles=sorted(set(roles)),
    )
    session.add(client)
    await session.flush()
    return client, secret


async def find_client(session: AsyncSession, client_id: str) -> OAuthClient | None:
    """The active client with this id (of whichever tenant: client ids are unique), or None."""
    return (
        await session.execute(select(OAuthClient).where(OAuthClient.client_id == client_id, OAuthClient.is_active))
    ).scalar_one_or_none()


def secret_matches(client: OAuthClient | None, secret: str) -> bool:
    """Constant-time check of a presented secret against the stored hash; an unknown client (None) takes as long."""
    try:
        return _hasher.verify(client.secret_hash if client else _UNKNOWN_CLIENT_HASH, secret) and client is not None
    except (VerificationError, InvalidHashError):
        return False


def _client_key(client_id: str) -> str:
    return f"oauth_client:{client_id[:100]}"  # no client id is that long; longer ones may share a count


def _address_key(address: str | None) -> str:
    return f"oauth_address:{address or 'unknown'}"


async def refuse_if_throttled(session: AsyncSession, client_id: str | None, address: str | None) -> None:
    """Raise RateLimited while the client id (known or not) or the address is locked by its failed attempts."""
    keys = [_address_key(address), *([_client_key(client_id)] if client_id else [])]
    await throttle.refuse_if_locked(session, keys)


async def record_failed_authentication(session: AsyncSession, client_id: str | None, address: str | None) -> None:
    """Count a failed attempt against the address and the presented client id, whether that id exists or not."""
    await throttle.record_failure(session, _address_key(address), CLIENT_ADDRESS_RULE)
    if client_id:
        await throttle.record_failure(session, _client_key(client_id), CLIENT_RULE)


async def record_authenticated(session: AsyncSession, client_id: str) -> None:
    """Forget the client's failures after it authenticated."""
    await throttle.clear(session, _client_key(client_id))
