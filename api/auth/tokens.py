"""Bearer tokens: JWTs the service signs for users and machine clients, and their verification."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import BadSignatureError, ClaimError, DecodeError, ExpiredTokenError, JoseError
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.keys import ALGORITHM, KeyRing, key_ring
from domain.users import User

ISSUER = "channel-crm"
DEFAULT_TTL_SECONDS = 3600


class TokenInvalid(Exception):
    """The bearer token cannot be trusted; the message says why, for the 401 response."""


@dataclass(frozen=True)
class Claims:
    """What a verified token says."""

    subject: str
    tenant_id: uuid.UUID
    kind: str
    roles: list[str]
    expires_at: int


def _sign(ring: KeyRing, claims: dict[str, Any]) -> str:
    return jwt.encode({"alg": ALGORITHM, "kid": ring.signing.kid}, claims, ring.signing)


def _claims(subject: str, tenant_id: uuid.UUID, kind: str, roles: list[str], ttl: int) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": ISSUER, "sub": subject, "tid": str(tenant_id), "kind": kind, "roles": sorted(roles),
        "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex,
    }  # fmt: skip


async def issue_user_token(
    sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, user_id: uuid.UUID, ttl: int = DEFAULT_TTL_SECONDS
) -> str:
    """A signed token for a user of a tenant (whose roles are read again on every request)."""
    async with sessions() as session:
        roles = (
            await session.execute(select(User.roles).where(User.tenant_id == tenant_id, User.id == user_id))
        ).scalar_one()
    return _sign(await key_ring(sessions), _claims(str(user_id), tenant_id, "user", list(roles), ttl))


async def issue_client_token(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    client_id: str,
    roles: list[str],
    ttl: int = DEFAULT_TTL_SECONDS,
) -> str:
    """A signed token for a machine client (OAuth2 client credentials)."""
    return _sign(await key_ring(sessions), _claims(client_id, tenant_id, "machine", roles, ttl))


def verify(ring: KeyRing, token: str) -> Claims:
    """Check signature, issuer and expiry; raise TokenInvalid with a reason a client can act on."""
    try:
        decoded = jwt.decode(token, ring.verifying, algorithms=[ALGORITHM])
        JWTClaimsRegistry(
            iss={"essential": True, "value": ISSUER},
            sub={"essential": True},
            exp={"essential": True},
            tid={"essential": True},
            kind={"essential": True, "values": ["user", "machine"]},
        ).validate(decoded.claims)
        claims = decoded.claims
        return Claims(
            subject=str(claims["sub"]),
            tenant_id=uuid.UUID(str(claims["tid"])),
            kind=str(claims["kind"]),
            roles=list(claims.get("roles", [])),
            expires_at=int(claims["exp"]),
        )
    except ExpiredTokenError as exc:
        raise TokenInvalid("The token has expired; get a new one.") from exc
    except BadSignatureError as exc:
        raise TokenInvalid("The token's signature does not verify.") from exc
    except ClaimError as exc:
        raise TokenInvalid(f"The token's claims are not acceptable: {exc.description}.") from exc
    except (DecodeError, JoseError, ValueError, TypeError, KeyError) as exc:
        raise TokenInvalid("The token is malformed.") from exc
