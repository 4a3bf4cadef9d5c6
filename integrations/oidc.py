"""OpenID Connect, the relying party's side: discovery, the authorization request, the code exchange, ID tokens.

Authorization code flow with PKCE (S256), state and nonce. The ID token is verified against the provider's
published keys (asymmetric algorithms only) and its issuer, audience, expiry and nonce are checked. Claims the
ID token leaves out (a code flow's ID token often carries only the subject) are read from the userinfo endpoint
with the access token, and kept only when they are about the same subject. Every failure is an SsoRefused
naming what went wrong; nothing here touches the database.
"""

from __future__ import annotations

import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet

from domain.identity.sign_in.sso import SsoFailure, SsoIdentity, SsoRefused

# Only signatures made with a private key: a shared-secret (HS*) token could be forged by anyone who holds the
# client secret, and "none" is no signature at all.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}
)
CLOCK_SKEW_SECONDS = 120
BASE_SCOPES = ("openid", "email", "profile")


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of a provider's discovery document the relying party uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    scopes_supported: frozenset[str]
    token_auth_methods: frozenset[str]


def _unavailable(issuer: str, detail: str) -> SsoRefused:
    return SsoRefused(SsoFailure.PROVIDER_UNAVAILABLE, f"The identity provider {issuer} could not be reached: {detail}")


async def _get_json(http: httpx.AsyncClient, url: str, issuer: str, **kwargs: Any) -> Any:
    try:
        response = await http.get(url, **kwargs)
        response.raise_for_status()
        return response.json()
    except httpx.HTTPStatusError as exc:
        raise _unavailable(issuer, f"{url} answered {exc.response.status_code}.") from exc
    except httpx.HTTPError as exc:
        raise _unavailable(issuer, f"{type(exc).__name__} for {url}.") from exc
    except ValueError as exc:
        raise _unavailable(issuer, f"{url} did not answer JSON.") from exc


async def discover(http: httpx.AsyncClient, issuer: str) -> ProviderMetadata:
    """The provider's metadata from {issuer}/.well-known/openid-configuration, which must name the same issuer."""
    document = await _get_json(http, issuer.rstrip("/") + "/.well-known/openid-configuration", issuer)
    if not isinstance(document, dict):
        raise _unavailable(issuer, "its discovery document is not a JSON object.")
    if document.get("issuer") != issuer:
        raise SsoRefused(
            SsoFailure.PROVIDER_MISCONFIGURED,
            f"The discovery document at {issuer} names the issuer {document.get('issuer')!r}; "
            "the configured issuer must be exactly the provider's.",
        )
    endpoints = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(name)
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise SsoRefused(SsoFailure.PROVIDER_MISCONFIGURED, f"The identity provider's discovery lacks {name}.")
        endpoints[name] = value
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise SsoRefused(SsoFailure.PROVIDER_MISCONFIGURED, "The identity provider does not support PKCE with S256.")
    userinfo = document.get("userinfo_endpoint")
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        jwks_uri=endpoints["jwks_uri"],
        userinfo_endpoint=userinfo if isinstance(userinfo, str) else None,
        scopes_supported=frozenset(s for s in document.get("scopes_supported") or [] if isinstance(s, str)),
        token_auth_methods=frozenset(
            m
            for m in document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
            if isinstance(m, str)
        ),
    )


def scopes_for(metadata: ProviderMetadata, groups_claim: str) -> list[str]:
    """openid, email and profile, and the groups claim's scope where the provider offers one by that name."""
    return [*BASE_SCOPES, *([groups_claim] if groups_claim in metadata.scopes_supported else [])]


def authorization_url(
    metadata: ProviderMetadata,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: list[str],
    state: str,
    nonce: str,
    code_verifier: str,
) -> str:
    """Where to send the browser to sign in: a code request with state, nonce and an S256 code challenge."""
    return prepare_grant_uri(
        metadata.authorization_endpoint,
        client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=" ".join(scopes),
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(code_verifier),
        code_challenge_method="S256",
    )


async def exchange_code(
    http: httpx.AsyncClient,
    metadata: ProviderMetadata,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
) -> dict[str, Any]:
    """The provider's token response for an authorization code and its PKCE verifier."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    auth: tuple[str, str] | None = None
    if "client_secret_basic" in metadata.token_auth_methods or "client_secret_post" not in metadata.token_auth_methods:
        # RFC 6749 2.3.1: both parts are form-encoded before they are joined and base64-encoded.
        auth = (quote(client_id, safe=""), quote(client_secret, safe=""))
    else:
        form |= {"client_id": client_id, "client_secret": client_secret}
    try:
        response = await http.post(
            metadata.token_endpoint,
            data=form,
            auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,  # none set on the client either
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        raise _unavailable(metadata.issuer, f"{type(exc).__name__} for its token endpoint.") from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        raise SsoRefused(
            SsoFailure.CODE_REJECTED,
            f"The identity provider refused the sign-in code ({error or response.status_code}); start again.",
        )
    if not isinstance(body.get("id_token"), str):
        raise SsoRefused(SsoFailure.BAD_TOKEN, "The identity provider's answer has no ID token.")
    return body


def _bad(message: str, reason: SsoFailure = SsoFailure.BAD_TOKEN) -> SsoRefused:
    return SsoRefused(reason, message)


def _unverified(id_token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        compact = jws.extract_compact(id_token.encode())
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeDecodeError) as exc:
        raise _bad("The ID token is not a signed JWT.") from exc
    if not isinstance(claims, dict):
        raise _bad("The ID token's payload is not a JSON object.")
    return compact.headers(), claims


async def verify_id_token(
    http: httpx.AsyncClient,
    metadata: ProviderMetadata,
    id_token: str,
    *,
    client_id: str,
    nonce: str,
    now: int | None = None,
) -> dict[str, Any]:
    """The ID token's claims once its signature (by the provider's keys), issuer, audience, times and nonce hold."""
    header, claims = _unverified(id_token)
    alg = header.get("alg")
    if alg not in ASYMMETRIC_ALGORITHMS:
        raise _bad(f"The ID token is signed with {alg!r}; only asymmetric signatures are accepted.")
    # The issuer is looked at first only to say what is wrong; nothing is trusted before the signature holds.
    if claims.get("iss") != metadata.issuer:
        raise _bad(
            f"The ID token was issued by {claims.get('iss')!r}, not by the configured provider {metadata.issuer}.",
            SsoFailure.FOREIGN_ISSUER,
        )
    jwks = await _get_json(http, metadata.jwks_uri, metadata.issuer)
    try:
        keys = KeySet.import_key_set(
            {"keys": [k for k in (jwks or {}).get("keys", []) if isinstance(k, dict) and k.get("use", "sig") == "sig"]}
        )
    except (JoseError, ValueError, TypeError, AttributeError) as exc:
        raise _unavailable(metadata.issuer, "its key set could not be read.") from exc
    try:
        verified = jwt.decode(id_token, keys, algorithms=[alg])
    except BadSignatureError as exc:
        raise _bad(
            "The ID token's signature does not verify with the provider's keys.", SsoFailure.BAD_SIGNATURE
        ) from exc
    except (JoseError, ValueError) as exc:
        # Most often a key id the provider does not publish: the token was not signed by this provider.
        raise _bad(
            f"The ID token could not be verified with the provider's keys ({exc}).", SsoFailure.BAD_SIGNATURE
        ) from exc
    claims = verified.claims
    _check_claims(claims, client_id=client_id, nonce=nonce, now=int(time.time()) if now is None else now)
    return claims


def _check_claims(claims: dict[str, Any], *, client_id: str, nonce: str, now: int) -> None:
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if client_id not in audiences:
        raise _bad("The ID token is not meant for this tenant's client.")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise _bad("The ID token was issued to another client (azp).")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise _bad("The ID token has no subject.")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or exp + CLOCK_SKEW_SECONDS <= now:
        raise _bad("The ID token has expired.")
    if not isinstance(iat, int | float) or iat - CLOCK_SKEW_SECONDS > now:
        raise _bad("The ID token's issue time is missing or in the future.")
    presented = claims.get("nonce")
    if not isinstance(presented, str) or not hmac.compare_digest(presented.encode(), nonce.encode()):
        raise _bad("The ID token's nonce is not this sign-in's.", SsoFailure.NONCE_MISMATCH)


async def userinfo(http: httpx.AsyncClient, metadata: ProviderMetadata, access_token: str) -> dict[str, Any]:
    """The userinfo endpoint's claims for an access token."""
    assert metadata.userinfo_endpoint is not None
    body = await _get_json(
        http,
        metadata.userinfo_endpoint,
        metadata.issuer,
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )
    if not isinstance(body, dict):
        raise _bad("The identity provider's userinfo answer is not a JSON object.")
    return body


def _verified_flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):  # some providers send strings
        return value.lower() == "true"
    return None


def identity_of(claims: dict[str, Any], groups_claim: str) -> SsoIdentity:
    """The person the claims describe: subject, e-mail and its verification, name, and the groups claim's values."""
    groups = claims.get(groups_claim)
    if isinstance(groups, str):
        groups = [groups]
    email, name = claims.get("email"), claims.get("name")
    return SsoIdentity(
        subject=str(claims["sub"]),
        email=email if isinstance(email, str) else None,
        email_verified=_verified_flag(claims.get("email_verified")),
        name=name if isinstance(name, str) else None,
        groups=[g for g in groups if isinstance(g, str)] if isinstance(groups, list) else [],
    )


async def identity_from_code(
    http: httpx.AsyncClient,
    metadata: ProviderMetadata,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    nonce: str,
    groups_claim: str,
) -> SsoIdentity:
    """Exchange the code, verify the ID token, and read the person's claims (the userinfo endpoint fills gaps)."""
    tokens = await exchange_code(
        http,
        metadata,
        client_id=client_id,
        client_secret=client_secret,
        code=code,
        redirect_uri=redirect_uri,
        code_verifier=code_verifier,
    )
    claims = await verify_id_token(http, metadata, tokens["id_token"], client_id=client_id, nonce=nonce)
    missing = any(name not in claims for name in ("email", groups_claim))
    access_token = tokens.get("access_token")
    if missing and metadata.userinfo_endpoint and isinstance(access_token, str):
        extra = await userinfo(http, metadata, access_token)
        if extra.get("sub") != claims["sub"]:
            raise _bad("The userinfo endpoint described another subject than the ID token.")
        claims = {**extra, **claims}
    return identity_of(claims, groups_claim)
