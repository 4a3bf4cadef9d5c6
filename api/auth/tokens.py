"""Bearer tokens: JWTs the service signs for users and machine clients, and their verification."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import BadSignatureError, ClaimError, DecodeError, ExpiredTokenError, JoseError
from joserfc.jwt import ClaimsOption, JWTClaimsRegistry

from api.auth.keys import ALGORITHM, KeyRing, key_ring
from services.identity import roles_for_token
from services.unit_of_work import Sessions

ISSUER = "channel-crm"
# People's access tokens live 15 minutes at most; refresh tokens keep them signed in.
ACCESS_TOKEN_TTL_SECONDS = 900
DEFAULT_TTL_SECONDS = ACCESS_TOKEN_TTL_SECONDS


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
    session_id: uuid.UUID | None = None


def _sign(ring: KeyRing, claims: dict[str, Any]) -> str:
    return jwt.encode({"alg": ALGORITHM, "kid": ring.signing.kid}, claims, ring.signing)


def _claims(
    subject: str, tenant_id: uuid.UUID, kind: str, roles: list[str], ttl: int, session_id: uuid.UUID | None = None
) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": subject,
        "tid": str(tenant_id),
        "kind": kind,
        "roles": sorted(roles),
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }
    if session_id is not None:
        claims["sid"] = str(session_id)
    return claims


async def issue_user_token(
    sessions: Sessions,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    ttl: int = DEFAULT_TTL_SECONDS,
    *,
    session_id: uuid.UUID | None = None,
) -> str:
    """A signed access token for a user of a tenant (whose roles are read again on every request).

    With `session_id` the token is good only while that signed-in session lives.
    """
    roles = await roles_for_token(sessions, tenant_id, user_id)
    return _sign(await key_ring(sessions), _claims(str(user_id), tenant_id, "user", roles, ttl, session_id))


async def issue_client_token(
    sessions: Sessions,
    tenant_id: uuid.UUID,
    client_id: str,
    roles: list[str],
    ttl: int = DEFAULT_TTL_SECONDS,
) -> str:
    """A signed token for a machine client (OAuth2 client credentials)."""
    return _sign(await key_ring(sessions), _claims(client_id, tenant_id, "machine", roles, ttl))


def _decoded_claims(ring: KeyRing, token: str, kind: ClaimsOption) -> dict[str, Any]:
    """The claims of a token we signed, its issuer, subject, expiry, tenant and kind checked; joserfc errors pass."""
    decoded = jwt.decode(token, ring.verifying, algorithms=[ALGORITHM])
    JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER},
        sub={"essential": True},
        exp={"essential": True},
        tid={"essential": True},
        kind={"essential": True, **kind},
    ).validate(decoded.claims)
    return dict(decoded.claims)


# Tokens verified lately, with the ring that verified them: every request of a client presents the same token
# for its whole life, and checking its signature again costs more than the rest of signing it in. A token is
# taken from here only before it expires and only for the same ring; whether its person, organization and
# session may still act is read from the database on every request all the same (services/identity.principal).
_VERIFIED: OrderedDict[str, tuple[KeyRing, Claims]] = OrderedDict()
_VERIFIED_KEPT = 4096


def verify(ring: KeyRing, token: str) -> Claims:
    """Check signature, issuer and expiry; raise TokenInvalid with a reason a client can act on."""
    found = _VERIFIED.get(token)
    if found is not None and found[0] is ring and time.time() < found[1].expires_at:
        _VERIFIED.move_to_end(token)
        return found[1]
    claims = _verified(ring, token)
    _VERIFIED[token] = (ring, claims)
    if len(_VERIFIED) > _VERIFIED_KEPT:
        _VERIFIED.popitem(last=False)
    return claims


def _verified(ring: KeyRing, token: str) -> Claims:
    try:
        claims = _decoded_claims(ring, token, {"values": ["user", "machine"]})
        return Claims(
            subject=str(claims["sub"]),
            tenant_id=uuid.UUID(str(claims["tid"])),
            kind=str(claims["kind"]),
            roles=list(claims.get("roles", [])),
            expires_at=int(claims["exp"]),
            session_id=uuid.UUID(str(claims["sid"])) if "sid" in claims else None,
        )
    except ExpiredTokenError as exc:
        raise TokenInvalid("The token has expired; get a new one.") from exc
    except BadSignatureError as exc:
        raise TokenInvalid("The token's signature does not verify.") from exc
    except ClaimError as exc:
        raise TokenInvalid(f"The token's claims are not acceptable: {exc.description}.") from exc
    except (DecodeError, JoseError, ValueError, TypeError, KeyError) as exc:
        raise TokenInvalid("The token is malformed.") from exc


MFA_TOKEN_TTL_SECONDS = 300


@dataclass(frozen=True)
class MfaClaims:
    """A password (or link) sign-in waiting for its second factor."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    method: str
    enrolling: bool


def issue_mfa_token(ring: KeyRing, tenant_id: uuid.UUID, user_id: uuid.UUID, method: str, *, enrolling: bool) -> str:
    """A five-minute token that proves the first factor passed; it opens nothing but POST /auth/mfa."""
    claims = _claims(str(user_id), tenant_id, "mfa", [], MFA_TOKEN_TTL_SECONDS)
    claims.update({"method": method, "enrolling": enrolling})
    return _sign(ring, claims)


def verify_mfa_token(ring: KeyRing, token: str) -> MfaClaims:
    """Check an mfa_token; raise TokenInvalid with the reason."""
    try:
        claims = _decoded_claims(ring, token, {"value": "mfa"})
        return MfaClaims(
            tenant_id=uuid.UUID(str(claims["tid"])),
            user_id=uuid.UUID(str(claims["sub"])),
            method=str(claims.get("method", "password")),
            enrolling=bool(claims.get("enrolling", False)),
        )
    except ExpiredTokenError as exc:
        raise TokenInvalid("The mfa_token has expired; sign in again.") from exc
    except (DecodeError, JoseError, ValueError, TypeError, KeyError) as exc:
        raise TokenInvalid("The mfa_token is not valid; sign in again.") from exc
