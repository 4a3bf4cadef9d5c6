"""Authentication: only a valid token of an active principal gets data; machine clients get tokens by OAuth2."""

from __future__ import annotations

import base64
import time
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import select, update

from api.auth.keys import key_ring
from api.auth.tokens import ISSUER, _claims, _sign, issue_user_token
from domain.channel.organizations import Organization, OrganizationStatus
from domain.identity.machine_clients import OAuthClient, register_client
from domain.identity.users import User
from tests.integration.world import build_world

ME = {"query": "{ me { email } }"}


@pytest.fixture(scope="module")
async def world(sessions):  # type: ignore[no-untyped-def]
    return await build_world(sessions)


async def _post(client, token: str | None, body=ME):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return await client.post("/graphql", json=body, headers=headers)


def _assert_401(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in response.json()
    return error["message"]  # type: ignore[no-any-return]


async def test_valid_token_gets_data(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    token = await issue_user_token(sessions, world.tenant_id, world.users["am_east"].id)
    response = await _post(client, token)
    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"email": world.users["am_east"].email}}}
    assert len(response.headers["x-request-id"]) == 32


async def test_no_token(client) -> None:  # type: ignore[no-untyped-def]
    assert "Authorization: Bearer" in _assert_401(await _post(client, None))


async def test_wrong_scheme(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.post("/graphql", json=ME, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert "Bearer" in _assert_401(response)


async def test_garbage_token(client) -> None:  # type: ignore[no-untyped-def]
    assert "malformed" in _assert_401(await _post(client, "not.a.jwt"))


async def test_expired_token(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    token = await issue_user_token(sessions, world.tenant_id, world.users["admin"].id, ttl=-10)
    assert "expired" in _assert_401(await _post(client, token))


async def test_token_signed_by_another_key(world, client) -> None:  # type: ignore[no-untyped-def]
    # Given a well-formed token with our kid and claims, signed by a key that is not ours
    stranger = ECKey.generate_key("P-256", private=True, auto_kid=True)
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": str(world.users["admin"].id), "tid": str(world.tenant_id), "kind": "user",
              "roles": ["admin"], "iat": now, "exp": now + 600}  # fmt: skip
    forged = jwt.encode({"alg": "ES256"}, claims, stranger)
    assert _assert_401(await _post(client, forged))


async def test_tampered_claims(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    token = await issue_user_token(sessions, world.tenant_id, world.users["r1a_sales"].id)
    header, payload, signature = token.split(".")
    claims = base64.urlsafe_b64decode(payload + "==").replace(b"partner_sales", b"admin\x22\x2c\x22x\x22:\x22")
    tampered = ".".join([header, base64.urlsafe_b64encode(claims).decode().rstrip("="), signature])
    assert _assert_401(await _post(client, tampered))


async def test_unknown_user_in_a_valid_token(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    ring = await key_ring(sessions)
    token = _sign(ring, _claims(str(uuid.uuid4()), world.tenant_id, "user", ["admin"], 600))
    assert "deactivated" in _assert_401(await _post(client, token))


async def test_deactivated_user_loses_access_at_once(sessions, client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(sessions)
    token = await issue_user_token(sessions, world.tenant_id, world.users["am_west"].id)
    assert (await _post(client, token)).status_code == 200
    async with sessions() as session, session.begin():
        await session.execute(update(User).where(User.id == world.users["am_west"].id).values(is_active=False))
    _assert_401(await _post(client, token))


@pytest.mark.parametrize("status", [OrganizationStatus.SUSPENDED, OrganizationStatus.TERMINATED])
async def test_suspended_partner_users_lose_access_at_once(status, sessions, client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(sessions)
    token = await issue_user_token(sessions, world.tenant_id, world.users["r1a_sales"].id)
    assert (await _post(client, token)).status_code == 200
    async with sessions() as session, session.begin():
        await session.execute(update(Organization).where(Organization.id == world.orgs["R1a"].id).values(status=status))
    _assert_401(await _post(client, token))
    # Users of other partners keep working
    other = await issue_user_token(sessions, world.tenant_id, world.users["r1b_sales"].id)
    assert (await _post(client, other)).status_code == 200


async def test_partner_user_never_acts_with_an_internal_role(sessions, client) -> None:  # type: ignore[no-untyped-def]
    # Given a partner user whose row was (wrongly) given the admin role
    world = await build_world(sessions)
    async with sessions() as session, session.begin():
        await session.execute(
            update(User).where(User.id == world.users["r1a_sales"].id).values(roles=["partner_sales", "admin"])
        )
    token = await issue_user_token(sessions, world.tenant_id, world.users["r1a_sales"].id)
    body = (await _post(client, token, {"query": "{ opportunities(first: 50) { totalCount } }"})).json()
    # Then the internal role is ignored: they still see only their organization's deal
    assert body["data"]["opportunities"]["totalCount"] == 1


async def _client_credentials(sessions, world):  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        registered, secret = await register_client(session, world.tenant_id, "ERP sync", ["erp_integration"])
    return registered.client_id, secret


async def test_client_credentials_basic_auth(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    client_id, secret = await _client_credentials(sessions, world)
    response = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    claims = jwt.decode(body["access_token"], (await key_ring(sessions)).verifying).claims
    assert (claims["sub"], claims["tid"], claims["roles"], claims["kind"]) == (
        client_id, str(world.tenant_id), ["erp_integration"], "machine"
    )  # fmt: skip
    # The machine token reads the tenant's opportunities and is nobody's "me"
    data = (
        await _post(client, body["access_token"], {"query": "{ me { email } opportunities { totalCount } }"})
    ).json()
    assert data == {"data": {"me": None, "opportunities": {"totalCount": 6}}}


async def test_client_credentials_post_auth(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    client_id, secret = await _client_credentials(sessions, world)
    response = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    assert response.status_code == 200, response.text


async def test_bad_secret_is_invalid_client(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    client_id, _ = await _client_credentials(sessions, world)
    response = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, "nope"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    response = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("crm_unknown", "x"))
    assert response.json()["error"] == "invalid_client"


async def test_unsupported_grant(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    client_id, secret = await _client_credentials(sessions, world)
    response = await client.post("/oauth/token", data={"grant_type": "password"}, auth=(client_id, secret))
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_secret_is_stored_hashed(world, sessions) -> None:  # type: ignore[no-untyped-def]
    client_id, secret = await _client_credentials(sessions, world)
    async with sessions() as session:
        stored = (
            await session.execute(select(OAuthClient.secret_hash).where(OAuthClient.client_id == client_id))
        ).scalar_one()
    assert secret not in stored and stored.startswith("$argon2")


async def test_deactivated_client_token_stops_working(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    client_id, secret = await _client_credentials(sessions, world)
    token = (
        await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    ).json()
    async with sessions() as session, session.begin():
        await session.execute(update(OAuthClient).where(OAuthClient.client_id == client_id).values(is_active=False))
    _assert_401(await _post(client, token["access_token"]))
