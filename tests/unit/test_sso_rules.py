"""Single sign-on rules without a provider: ID token checks, where a sign-in may return to, issuer URLs, roles."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from domain.identity.sign_in.sso import SsoFailure, SsoRefused, check_return_to, issuer_problem, mapped_roles, origin_of
from domain.shared.errors import ValidationFailed
from integrations.oidc import ProviderMetadata, identity_of, verify_id_token

ISSUER = "https://idp.example"
CLIENT = "crm-client"
NONCE = "n-0123456789"
METADATA = ProviderMetadata(
    issuer=ISSUER,
    authorization_endpoint=f"{ISSUER}/auth",
    token_endpoint=f"{ISSUER}/token",
    jwks_uri=f"{ISSUER}/jwks",
    userinfo_endpoint=None,
    scopes_supported=frozenset(),
    token_auth_methods=frozenset({"client_secret_basic"}),
)
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})  # same kid, other key
EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "e1", "use": "sig"})


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "sub": "alice", "aud": CLIENT, "exp": now + 300, "iat": now, "nonce": NONCE} | overrides


def signed(payload: dict[str, Any], key: Any = KEY, alg: str = "RS256", kid: str | None = "k1") -> str:
    header = {"alg": alg} | ({"kid": kid} if kid else {})
    return jwt.encode(header, payload, key)


def http() -> httpx.AsyncClient:
    jwks = {"keys": [KEY.as_dict(private=False), EC_KEY.as_dict(private=False)]}
    return httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(200, json=jwks)))


async def verify(token: str) -> dict[str, Any]:
    async with http() as client:
        return await verify_id_token(client, METADATA, token, client_id=CLIENT, nonce=NONCE)


def shared_secret_key() -> OctKey:
    return OctKey.import_key("a shared secret anyone with the client secret could use, 32+ bytes long")


def unsigned(payload: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(payload)}."


async def test_a_good_id_token_verifies() -> None:
    assert (await verify(signed(claims())))["sub"] == "alice"
    assert (await verify(signed(claims(aud=[CLIENT, "other"], azp=CLIENT))))["sub"] == "alice"
    assert (await verify(signed(claims(), key=EC_KEY, alg="ES256", kid="e1")))["sub"] == "alice"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda: signed(claims(), key=shared_secret_key(), alg="HS256"), SsoFailure.BAD_TOKEN),
        (lambda: signed(claims(iss="https://evil.example")), SsoFailure.FOREIGN_ISSUER),
        (lambda: signed(claims(), key=OTHER_KEY), SsoFailure.BAD_SIGNATURE),
        (lambda: signed(claims(), kid="unknown"), SsoFailure.BAD_SIGNATURE),
        (lambda: signed(claims(aud="someone-else")), SsoFailure.BAD_TOKEN),
        (lambda: signed(claims(aud=[CLIENT, "other"])), SsoFailure.BAD_TOKEN),  # several audiences need azp
        (lambda: signed(claims(azp="other")), SsoFailure.BAD_TOKEN),
        (lambda: signed(claims(exp=int(time.time()) - 600)), SsoFailure.BAD_TOKEN),
        (lambda: signed(claims(iat=int(time.time()) + 600)), SsoFailure.BAD_TOKEN),
        (lambda: signed(claims(nonce="another")), SsoFailure.NONCE_MISMATCH),
        (lambda: signed({k: v for k, v in claims().items() if k != "nonce"}), SsoFailure.NONCE_MISMATCH),
        (lambda: signed({k: v for k, v in claims().items() if k != "sub"}), SsoFailure.BAD_TOKEN),
        (lambda: unsigned(claims()), SsoFailure.BAD_TOKEN),
        (lambda: "not.a.token", SsoFailure.BAD_TOKEN),
    ],
)
async def test_a_bad_id_token_is_refused(token: Any, reason: SsoFailure) -> None:
    with pytest.raises(SsoRefused) as caught:
        await verify(token())
    assert caught.value.reason is reason, caught.value.message


def test_identity_takes_groups_and_verification_as_providers_send_them() -> None:
    identity = identity_of({"sub": "s", "email": "A@X.example", "email_verified": "false", "roles": "one"}, "roles")
    assert (identity.email, identity.email_verified, identity.groups) == ("A@X.example", False, ["one"])
    assert identity_of({"sub": "s", "groups": [1, "g"]}, "groups").groups == ["g"]
    assert identity_of({"sub": "s"}, "groups").email_verified is None


PUBLIC = "https://crm.example"
FRONT_ENDS = ["https://portal.example", "http://localhost:5173"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "https://crm.example/graphql"),
        ("", "https://crm.example/graphql"),
        ("/portal/home", "https://crm.example/portal/home"),
        ("https://crm.example/x", "https://crm.example/x"),
        ("https://crm.example:443/x", "https://crm.example:443/x"),
        ("https://PORTAL.example/deals?id=1#top", "https://PORTAL.example/deals?id=1#top"),
        ("http://localhost:5173/", "http://localhost:5173/"),
    ],
)
def test_return_to_on_a_known_origin_is_kept(given: str | None, expected: str) -> None:
    assert check_return_to(given, frontend_origins=FRONT_ENDS, public_url=PUBLIC) == expected


@pytest.mark.parametrize(
    "given",
    [
        "https://evil.example",
        "//evil.example/x",
        "/\\evil.example",
        "https://portal.example.evil.example/",
        "https://portal.example@evil.example/",
        "http://portal.example/",  # another scheme is another origin
        "http://localhost:5174/",
        "javascript:alert(1)",
        "data:text/html,hi",
        "https://crm.example/\nSet-Cookie:x",
        "https://crm.example:99999/",
        "https://crm.example/" + "x" * 2000,
    ],
)
def test_return_to_elsewhere_is_refused(given: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_return_to(given, frontend_origins=FRONT_ENDS, public_url=PUBLIC)
    assert caught.value.errors[0].field == "return_to"


def test_origins_are_compared_without_default_ports_and_case() -> None:
    assert origin_of("HTTPS://Portal.Example:443/a") == "https://portal.example"
    assert origin_of("http://[::1]:8080/") == "http://[::1]:8080"
    assert origin_of("ftp://portal.example") is None


@pytest.mark.parametrize(
    ("issuer", "production", "ok"),
    [
        ("https://login.example.com", True, True),
        ("https://login.example.com/realms/acme", True, True),
        ("http://127.0.0.1:8080", False, True),
        ("http://localhost:8080", False, True),
        ("http://localhost:8080", True, False),
        ("http://login.example.com", False, False),
        ("https://login.example.com?x=1", False, False),
        ("login.example.com", False, False),
        ("https://:80", False, False),
    ],
)
def test_issuer_urls(issuer: str, production: bool, ok: bool) -> None:
    assert (issuer_problem(issuer, production=production) is None) is ok


def test_only_internal_roles_are_mapped() -> None:
    mapping = {"sales": ["sales_manager"], "both": ["finance", "partner_admin"], "other": ["admin"]}
    assert mapped_roles(mapping, ["sales", "both", "unknown"]) == ["finance", "sales_manager"]
    assert mapped_roles(mapping, []) == []
