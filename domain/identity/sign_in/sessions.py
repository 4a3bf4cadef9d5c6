"""Signed-in sessions and their rotating refresh tokens: one family per device, single-use tokens, reuse revokes all."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.principals import load_user_actor
from domain.access.unit_of_work import system_unit_of_work
from domain.identity.sign_in.models import AuthSession, RefreshToken
from domain.identity.users import User
from domain.shared.base import new_id, utcnow
from domain.shared.errors import Unauthenticated

# A session ends this long after sign-in at the latest, however often it is refreshed.
SESSION_LIFETIME = timedelta(days=30)
# ... and after this long without a refresh.
SESSION_IDLE_LIFETIME = timedelta(days=7)


def token_hash(token: str) -> str:
    """What is stored of a secret token: its SHA-256 (the token is random, so no salt or slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class IssuedSession:
    """A live session and the refresh token the client holds for it now."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    session_id: uuid.UUID
    refresh_token: str
    expires_at: datetime


@dataclass(frozen=True)
class RefreshRefused:
    """Why a refresh token buys nothing; `reused` when it was presented twice and its whole family is now revoked."""

    message: str
    reused: bool = False


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value else None


async def start_session(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    method: str,
    client_address: str | None,
    user_agent: str | None,
) -> IssuedSession:
    """A new session for a user who has just proved who they are, with its first refresh token.

    Raises Unauthenticated when the user, or their organization, may no longer sign in.
    """
    if await load_user_actor(session, tenant_id, user_id) is None:
        raise Unauthenticated("This account is deactivated, or its organization no longer has access.")
    now = utcnow()
    row = AuthSession(
        tenant_id=tenant_id,
        id=new_id(),
        user_id=user_id,
        method=method,
        created_at=now,
        last_used_at=now,
        expires_at=now + SESSION_LIFETIME,
        client_address=_clip(client_address, 64),
        user_agent=_clip(user_agent, 400),
    )
    session.add(row)
    await session.flush()
    return await _new_refresh_token(session, row)


async def _new_refresh_token(session: AsyncSession, row: AuthSession) -> IssuedSession:
    token = new_secret_token()
    session.add(RefreshToken(token_hash=token_hash(token), tenant_id=row.tenant_id, session_id=row.id))
    await session.flush()
    return IssuedSession(row.tenant_id, row.user_id, row.id, token, row.expires_at)


async def rotate_refresh_token(
    session: AsyncSession, presented: str, *, client_address: str | None, user_agent: str | None
) -> IssuedSession | RefreshRefused:
    """Spend a refresh token for the next one of its family; a spent token presented again revokes the family.

    Returns rather than raises, so that the caller's transaction commits a revocation.
    """
    found = (
        await session.execute(
            select(RefreshToken, AuthSession)
            .join(
                AuthSession,
                (AuthSession.tenant_id == RefreshToken.tenant_id) & (AuthSession.id == RefreshToken.session_id),
            )
            .where(RefreshToken.token_hash == token_hash(presented))
            .with_for_update(of=[RefreshToken, AuthSession])
        )
    ).one_or_none()
    if found is None:
        return RefreshRefused("The refresh token is not valid; sign in again.")
    token, family = found
    now = utcnow()
    if family.revoked_at is not None:
        return RefreshRefused("This session has ended; sign in again.")
    if token.used_at is not None:
        # Someone holds a copy of a token already spent: the thief or the owner, we cannot tell which.
        await _revoke(session, family, "refresh token reused")
        return RefreshRefused(
            "This refresh token was already used, so it may have been stolen: the session has been ended on every "
            "device that shared it. Sign in again.",
            reused=True,
        )
    if family.expires_at <= now or family.last_used_at + SESSION_IDLE_LIFETIME <= now:
        await _revoke(session, family, "expired")
        return RefreshRefused("This session has expired; sign in again.")
    if await load_user_actor(session, family.tenant_id, family.user_id) is None:
        await _revoke(session, family, "user may no longer sign in")
        return RefreshRefused("This account is deactivated, or its organization no longer has access.")
    token.used_at = now
    family.last_used_at = now
    if client_address:
        family.client_address = _clip(client_address, 64)
    if user_agent:
        family.user_agent = _clip(user_agent, 400)
    return await _new_refresh_token(session, family)


async def _revoke(session: AsyncSession, family: AuthSession, reason: str) -> None:
    family.revoked_at = utcnow()
    family.revoked_reason = reason
    await session.flush()


async def revoke_by_refresh_token(session: AsyncSession, presented: str) -> bool:
    """End the session a refresh token belongs to (sign-out); False when the token names no live session."""
    family = (
        await session.execute(
            select(AuthSession)
            .join(
                RefreshToken,
                (AuthSession.tenant_id == RefreshToken.tenant_id) & (AuthSession.id == RefreshToken.session_id),
            )
            .where(RefreshToken.token_hash == token_hash(presented), AuthSession.revoked_at.is_(None))
            .with_for_update(of=AuthSession)
        )
    ).scalar_one_or_none()
    if family is None:
        return False
    await _revoke(session, family, "signed out")
    return True


async def revoke_user_sessions(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    user_ids: list[uuid.UUID],
    reason: str,
    *,
    keep: uuid.UUID | None = None,
) -> int:
    """End every live session of these users (but `keep`); returns how many ended."""
    if not user_ids:
        return 0
    statement = (
        update(AuthSession)
        .where(
            AuthSession.tenant_id == tenant_id,
            AuthSession.user_id.in_(user_ids),
            AuthSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    if keep is not None:
        statement = statement.where(AuthSession.id != keep)
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def revoke_organization_sessions(
    session: AsyncSession, tenant_id: uuid.UUID, organization_id: uuid.UUID, reason: str
) -> int:
    """End every live session of an organization's users (it was suspended or terminated).

    Every one of its users, whoever changed the organization: a system access ("end sessions") finds them.
    """
    uow = system_unit_of_work(session, tenant_id, "end sessions")
    user_ids = (
        await session.execute(uow.visible_columns(User, User.id).where(User.organization_id == organization_id))
    ).scalars()
    return await revoke_user_sessions(session, tenant_id, list(user_ids), reason)


async def live_sessions(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[AuthSession]:
    """A user's sessions that have not ended, newest use first."""
    now = utcnow()
    rows = await session.execute(
        select(AuthSession)
        .where(
            AuthSession.tenant_id == tenant_id,
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
            AuthSession.last_used_at > now - SESSION_IDLE_LIFETIME,
        )
        .order_by(AuthSession.last_used_at.desc(), AuthSession.id)
    )
    return list(rows.scalars())


async def revoke_own_session(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, session_id: uuid.UUID
) -> bool:
    """End one of the user's own sessions; False when it is not theirs or has already ended."""
    result = await session.execute(
        update(AuthSession)
        .where(
            AuthSession.tenant_id == tenant_id,
            AuthSession.user_id == user_id,
            AuthSession.id == session_id,
            AuthSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow(), revoked_reason="revoked by its user")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
