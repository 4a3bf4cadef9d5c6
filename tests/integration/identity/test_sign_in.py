"""People sign in over HTTP: passwords, throttling, rotating refresh tokens, second factors and sessions."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pyotp
import pytest
from sqlalchemy import select, update

from domain.channel.organizations import Organization, OrganizationStatus
from domain.identity.sign_in.models import AuthSession, MailMessage, SignInThrottle, UserCredential
from domain.identity.sign_in.passwords import hash_password
from domain.identity.tenants import Tenant
from domain.identity.users import User
from tests.integration.graphql_client import gid
from tests.integration.world import build_world

PASSWORD = "violet-harbour-lantern-42"
ME = "{ me { email } }"
SESSIONS = "{ mySessions { id method current clientAddress userAgent createdAt lastUsedAt } }"
REVOKE = "mutation($id: ID!) { revokeSession(input: {id: $id}) { ok errors { field code message } } }"
CHANGE = """mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) {
  endedSessions errors { field code message } } }"""
ENROL = "mutation { enrollTotp { secret otpauthUri errors { code message } } }"
CONFIRM = (
    "mutation($code: String!) { confirmTotp(input: {code: $code}) { recoveryCodes errors { field code message } } }"
)
DISABLE = "mutation($code: String!) { disableTotp(input: {code: $code}) { ok errors { field code message } } }"
SETTINGS = """mutation($m: MfaRequirement, $o: [String!]) { setSignInSettings(input: {mfaRequirement: $m, frontendOrigins: $o}) {
  settings { mfaRequirement frontendOrigins } errors { field code message } } }"""


@pytest.fixture(scope="module")
async def world(sessions):  # type: ignore[no-untyped-def]
    w = await build_world(sessions)
    async with sessions() as session, session.begin():
        digest = await hash_password(PASSWORD)
        for user in w.users.values():
            session.add(UserCredential(tenant_id=w.tenant_id, user_id=user.id, password_hash=digest))
    return w


@pytest.fixture
async def web(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """A client from an address of its own, so that throttling in one test does not reach another."""
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def _login(web, world, key: str, password: str = PASSWORD, **extra):  # type: ignore[no-untyped-def]
    body = {"tenant": world.slug, "email": world.users[key].email, "password": password, **extra}
    return await web.post("/auth/login", json=body, headers={"User-Agent": "pytest-browser/1.0"})


async def _graphql(web, token: str, query: str, **variables):  # type: ignore[no-untyped-def]
    response = await web.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {token}"}
    )
    return response


async def _data(web, token: str, query: str, **variables):  # type: ignore[no-untyped-def]
    response = await _graphql(web, token, query, **variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]


async def _unique_user(sessions, world, key: str = "am_east", **fields) -> User:  # type: ignore[no-untyped-def]
    """A fresh user like `key` of the world (own throttle and MFA state), with the test password."""
    template = world.users[key]
    user = User(
        tenant_id=world.tenant_id, id=uuid.uuid4(), email=f"u{uuid.uuid4().hex[:8]}@{world.slug}.example",
        name="Una Tested", organization_id=fields.get("organization_id", template.organization_id),
        roles=fields.get("roles", template.roles),
    )  # fmt: skip
    async with sessions() as session, session.begin():
        session.add(user)
        await session.flush()
        session.add(
            UserCredential(tenant_id=world.tenant_id, user_id=user.id, password_hash=await hash_password(PASSWORD))
        )
    world.users[user.email] = user
    return user


# --- password sign-in -------------------------------------------------------------------------------------------


async def test_password_sign_in_sets_an_httponly_cookie_and_gives_a_short_lived_token(web, world) -> None:  # type: ignore[no-untyped-def]
    response = await _login(web, world, "am_east")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and 0 < body["expires_in"] <= 900
    assert "refresh_token" not in body
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("crm_refresh=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/auth" in cookie
    assert (await _data(web, body["access_token"], ME))["me"]["email"] == world.users["am_east"].email


async def test_non_browser_clients_get_the_refresh_token_in_the_body(web, world) -> None:  # type: ignore[no-untyped-def]
    response = await _login(web, world, "d1_admin", cookie=False)
    assert response.status_code == 200
    assert response.json()["refresh_token"] and "set-cookie" not in response.headers


async def test_email_is_matched_without_regard_to_case(web, world) -> None:  # type: ignore[no-untyped-def]
    body = {"tenant": world.slug, "email": world.users["finance"].email.upper(), "password": PASSWORD}
    assert (await web.post("/auth/login", json=body)).status_code == 200


async def test_wrong_password_and_unknown_email_get_the_same_answer(web, world) -> None:  # type: ignore[no-untyped-def]
    wrong_password = await _login(web, world, "director", password="not-the-password-at-all")
    unknown = await web.post(
        "/auth/login", json={"tenant": world.slug, "email": "nobody@nowhere.example", "password": PASSWORD}
    )
    unknown_tenant = await web.post(
        "/auth/login", json={"tenant": "no-such-tenant", "email": world.users["director"].email, "password": PASSWORD}
    )
    for response in (wrong_password, unknown, unknown_tenant):
        assert response.status_code == 401
        assert response.json() == {"error": {"code": "UNAUTHENTICATED", "message": "The e-mail or password is wrong."}}


async def test_wrong_and_unknown_take_about_the_same_time(web, world) -> None:  # type: ignore[no-untyped-def]
    # Both verify one Argon2 hash; the difference is small next to the hash itself.
    async def timed(email: str) -> float:
        start = time.perf_counter()
        await web.post("/auth/login", json={"tenant": world.slug, "email": email, "password": "wrong-password-123"})
        return time.perf_counter() - start

    known = [await timed(world.users["am_west"].email) for _ in range(3)]
    unknown = [await timed(f"ghost{i}@{world.slug}.example") for i in range(3)]
    assert min(unknown) > 0.4 * min(known), (known, unknown)


async def test_a_user_without_a_password_cannot_sign_in(web, world, sessions) -> None:  # type: ignore[no-untyped-def]
    user = await _unique_user(sessions, world)
    async with sessions() as session, session.begin():
        await session.execute(
            update(UserCredential).where(UserCredential.user_id == user.id).values(password_hash=None)
        )
    response = await web.post("/auth/login", json={"tenant": world.slug, "email": user.email, "password": ""})
    assert response.status_code == 400 and response.json()["error"]["field"] == "password"
    response = await web.post("/auth/login", json={"tenant": world.slug, "email": user.email, "password": PASSWORD})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body, field",
    [
        ({"email": "a@b.example", "password": "x"}, "tenant"),
        ({"tenant": "acme", "password": "x"}, "email"),
        ({"tenant": "acme", "email": 5, "password": "x"}, "email"),
        ({"tenant": "acme", "email": "a\u0000@b.example", "password": "x"}, "email"),
        ({"tenant": "acme", "email": "a@b.example", "password": "x" * 300}, "password"),
    ],
)
async def test_bad_sign_in_bodies_name_the_field(web, body, field) -> None:  # type: ignore[no-untyped-def]
    response = await web.post("/auth/login", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize("raw", [b'"hello"', b"[1, 2]", b"{not json", b"[" * 100000])
async def test_a_body_that_is_not_a_json_object_is_a_400(web, raw) -> None:  # type: ignore[no-untyped-def]
    response = await web.post("/auth/login", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The body must be a JSON object."


async def test_repeated_failures_lock_the_account_with_retry_after(web, world, sessions, app) -> None:  # type: ignore[no-untyped-def]
    user = await _unique_user(sessions, world)
    body = {"tenant": world.slug, "email": user.email, "password": "wrong-password-123"}
    statuses = [(await web.post("/auth/login", json=body)).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    # Now even the right password, from another address, waits.
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.9.9.9", 1)), base_url="http://t")
    async with other:
        locked = await other.post("/auth/login", json={**body, "password": PASSWORD})
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["retry-after"]) <= 60
    assert locked.json()["error"]["code"] == "RATE_LIMITED"
    # When the lock has passed, the right password works again, and the next lock lasts longer.
    async with sessions() as session, session.begin():
        await session.execute(
            update(SignInThrottle).where(SignInThrottle.key.like(f"account:%:{user.email}")).values(locked_until=None)
        )
    assert (await web.post("/auth/login", json={**body, "password": PASSWORD})).status_code == 200
    statuses = [(await web.post("/auth/login", json=body)).status_code for _ in range(5)]
    assert statuses[-1] == 429
    async with sessions() as session:
        lock = (
            await session.execute(select(SignInThrottle).where(SignInThrottle.key.like(f"account:%:{user.email}")))
        ).scalar_one()
    assert lock.lockouts == 2


async def test_one_address_failing_on_many_accounts_is_throttled(app, world) -> None:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=("10.250.1.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
        statuses = []
        for i in range(31):
            response = await web.post(
                "/auth/login", json={"tenant": world.slug, "email": f"spray{i}@x.example", "password": "Summer2026!!"}
            )
            statuses.append(response.status_code)
    assert statuses[:29] == [401] * 29 and statuses[29:] == [429, 429]


# --- refresh, rotation, sign-out ----------------------------------------------------------------------------------


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(web, world) -> None:  # type: ignore[no-untyped-def]
    first = (await _login(web, world, "am_west", cookie=False)).json()
    second = await web.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert (await _data(web, rotated["access_token"], ME))["me"]

    # The old token again: someone kept a copy. The whole family ends, the new token with it.
    replay = await web.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json()["error"]["reused"] is True and "already used" in replay.json()["error"]["message"]
    after = await web.post("/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert after.status_code == 401 and "ended" in after.json()["error"]["message"]
    assert (await _graphql(web, rotated["access_token"], ME)).status_code == 401


async def test_refresh_by_cookie_needs_the_csrf_header(web, world) -> None:  # type: ignore[no-untyped-def]
    assert (await _login(web, world, "specialist")).status_code == 200
    refused = await web.post("/auth/refresh")
    assert refused.status_code == 403 and "X-CRM-CSRF" in refused.json()["error"]["message"]
    refreshed = await web.post("/auth/refresh", headers={"X-CRM-CSRF": "1"})
    assert refreshed.status_code == 200 and "crm_refresh=" in refreshed.headers["set-cookie"]
    assert (await _data(web, refreshed.json()["access_token"], ME))["me"]


async def test_logout_then_refresh_fails_and_the_access_token_stops(web, world) -> None:  # type: ignore[no-untyped-def]
    tokens = (await _login(web, world, "manager_east", cookie=False)).json()
    out = await web.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 200 and out.json() == {"signed_out": True}
    again = await web.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401
    assert (await _graphql(web, tokens["access_token"], ME)).status_code == 401


async def test_no_or_forged_refresh_token(web) -> None:  # type: ignore[no-untyped-def]
    assert (await web.post("/auth/refresh")).status_code == 401
    forged = await web.post("/auth/refresh", json={"refresh_token": "x" * 43})
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "UNAUTHENTICATED"


async def test_deactivating_a_user_ends_their_refresh_tokens(web, world, sessions) -> None:  # type: ignore[no-untyped-def]
    user = await _unique_user(sessions, world)
    tokens = (
        await web.post(
            "/auth/login", json={"tenant": world.slug, "email": user.email, "password": PASSWORD, "cookie": False}
        )
    ).json()
    admin = (await _login(web, world, "admin")).json()["access_token"]
    result = await _data(
        web, admin,
        "mutation($id: ID!) { setUserActive(input: {id: $id, active: false, reason: \"left\"}) { errors { message } } }",
        id=gid("User", user.id),
    )  # fmt: skip
    assert result["setUserActive"]["errors"] == []
    refused = await web.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refused.status_code == 401
    async with sessions() as session:
        ended = (await session.execute(select(AuthSession).where(AuthSession.user_id == user.id))).scalars().all()
    assert ended and all(s.revoked_at is not None for s in ended)


async def test_suspending_a_partner_ends_its_users_sessions(web, world, sessions) -> None:  # type: ignore[no-untyped-def]
    user = await _unique_user(sessions, world, "r1b_sales")
    tokens = (
        await web.post(
            "/auth/login", json={"tenant": world.slug, "email": user.email, "password": PASSWORD, "cookie": False}
        )
    ).json()
    async with sessions() as session, session.begin():
        await session.execute(
            update(Organization)
            .where(Organization.id == user.organization_id)
            .values(status=OrganizationStatus.SUSPENDED)
        )
    try:
        assert (await web.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).status_code == 401
        assert (await _graphql(web, tokens["access_token"], ME)).status_code == 401
    finally:
        async with sessions() as session, session.begin():
            await session.execute(
                update(Organization)
                .where(Organization.id == user.organization_id)
                .values(status=OrganizationStatus.ACTIVE)
            )


# --- sessions and password changes --------------------------------------------------------------------------------


async def test_my_sessions_lists_devices_and_revoke_session_ends_one(web, world, sessions) -> None:  # type: ignore[no-untyped-def]
    user = await _unique_user(sessions, world)
    login = {"tenant": world.slug, "email": user.email, "password": PASSWORD, "cookie": False}
    laptop = (await web.post("/auth/login", json=login, headers={"User-Agent": "Laptop/1"})).json()
    phone = (await web.post("/auth/login", json=login, headers={"User-Agent": "Phone/2"})).json()
    listed = (await _data(web, laptop["access_token"], SESSIONS))["mySessions"]
    assert sorted(s["userAgent"] for s in listed) == ["Laptop/1", "Phone/2"]
    assert [s["current"] for s in listed if s["userAgent"] == "Laptop/1"] == [True]
    assert all(s["method"] == "password" and s["clientAddress"].startswith("10.") for s in listed)

    phone_session = next(s["id"] for s in listed if s["userAgent"] == "Phone/2")
    assert (await _data(web, laptop["access_token"], REVOKE, id=phone_session))["revokeSession"]["ok"] is True
    assert (await _graphql(web, phone["access_token"], ME)).status_code == 401
    assert (await web.post("/auth/refresh", json={"refresh_token": phone["refresh_token"]})).status_code == 401
    # Another user's session, or one already ended, is not found.
    again = (await _data(web, laptop["access_token"], REVOKE, id=phone_session))["revokeSession"]
    assert again["errors"][0]["code"] == "NOT_FOUND"
    other = (await _login(web, world, "am_west")).json()["access_token"]
    laptop_session = next(s["id"] for s in listed if s["userAgent"] == "Laptop/1")
    assert (await _data(web, other, REVOKE, id=laptop_session))["revokeSession"]["errors"][0]["code"] == "NOT_FOUND"
    assert (await _graphql(web, laptop["access_token"], ME)).status_code == 200


async def test_changing_the_password_ends_the_other_sessions(web, world, sessions) -> None:  # type: ignore[no-untyped-def]
    user = await _unique_user(sessions, world)
    login = {"tenant": world.slug, "email": user.email, "password": PASSWORD, "cookie": False}
    here = (await web.post("/auth/login", json=login)).json()
    there = (await web.post("/auth/login", json=login)).json()

    wrong = (await _data(web, here["access_token"], CHANGE, c="not-it", n="quartz-meadow-falcon-77"))["changePassword"]
    assert wrong["errors"][0]["field"] == "currentPassword"
    weak = (await _data(web, here["access_token"], CHANGE, c=PASSWORD, n="password1234"))["changePassword"]
    assert weak["errors"][0]["field"] == "newPassword" and "common" in weak["errors"][0]["message"]
    short = (await _data(web, here["access_token"], CHANGE, c=PASSWORD, n="Xy9!short"))["changePassword"]
    assert short["errors"][0]["field"] == "newPassword" and "12 characters" in short["errors"][0]["message"]
    assert (await web.post("/auth/refresh", json={"refresh_token": there["refresh_token"]})).status_code == 200

    there = (await web.post("/auth/login", json=login)).json()
    done = (await _data(web, here["access_token"], CHANGE, c=PASSWORD, n="quartz-meadow-falcon-77"))["changePassword"]
    assert done == {"endedSessions": 2, "errors": []}
    assert (await web.post("/auth/refresh", json={"refresh_token": there["refresh_token"]})).status_code == 401
    assert (await _graphql(web, here["access_token"], ME)).status_code == 200
    assert (await web.post("/auth/login", json=login)).status_code == 401
    assert (await web.post("/auth/login", json={**login, "password": "quartz-meadow-falcon-77"})).status_code == 200
    async with sessions() as session:
        notices = (await session.execute(select(MailMessage.kind).where(MailMessage.to_address == user.email))).all()
    assert [n.kind for n in notices] == ["password_changed"]


# --- second factor ------------------------------------------------------------------------------------------------


async def _enrol(web, token: str) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    enrolment = (await _data(web, token, ENROL))["enrollTotp"]
    assert enrolment["otpauthUri"].startswith("otpauth://totp/channel-crm:")
    wrong = (await _data(web, token, CONFIRM, code="000000"))["confirmTotp"]
    assert wrong["errors"][0]["field"] == "code" and wrong["recoveryCodes"] is None
    codes = (await _data(web, token, CONFIRM, code=pyotp.TOTP(enrolment["secret"]).now()))["confirmTotp"]
    assert codes["errors"] == [] and len(codes["recoveryCodes"]) == 10
    return enrolment["secret"], codes["recoveryCodes"]


def _code_of_next_step(secret: str) -> str:
    """A code for the next time step: the current one was spent by the enrolment (each code is good once)."""
    totp = pyotp.TOTP(secret)
    return totp.at(int(time.time()) + totp.interval)


async def test_totp_sign_in_with_codes_and_recovery_codes(web, world, sessions) -> None:  # type: ignore[no-untyped-def]
    user = await _unique_user(sessions, world)
    login = {"tenant": world.slug, "email": user.email, "password": PASSWORD, "cookie": False}
    token = (await web.post("/auth/login", json=login)).json()["access_token"]
    secret, recovery = await _enrol(web, token)

    # The password alone no longer signs in: it asks for the second factor.
    step = (await web.post("/auth/login", json=login)).json()
    assert step["mfa_required"] is True and "access_token" not in step
    # The mfa_token opens nothing else.
    assert (await _graphql(web, step["mfa_token"], ME)).status_code == 401

    wrong = await web.post("/auth/mfa", json={"mfa_token": step["mfa_token"], "code": "123456", "cookie": False})
    assert wrong.status_code == 401 and wrong.json()["error"]["field"] == "code"
    done = await web.post(
        "/auth/mfa", json={"mfa_token": step["mfa_token"], "code": _code_of_next_step(secret), "cookie": False}
    )
    assert done.status_code == 200, done.text
    assert (await _data(web, done.json()["access_token"], ME))["me"]["email"] == user.email

    # A recovery code works once.
    step = (await web.post("/auth/login", json=login)).json()
    first = await web.post("/auth/mfa", json={"mfa_token": step["mfa_token"], "code": recovery[0], "cookie": False})
    assert first.status_code == 200
    step = (await web.post("/auth/login", json=login)).json()
    reused = await web.post("/auth/mfa", json={"mfa_token": step["mfa_token"], "code": recovery[0], "cookie": False})
    assert reused.status_code == 401
    status = await _data(web, first.json()["access_token"], "{ mySignIn { totpEnabled recoveryCodesLeft } }")
    assert status["mySignIn"] == {"totpEnabled": True, "recoveryCodesLeft": 9}


async def test_forged_or_missing_mfa_token(web) -> None:  # type: ignore[no-untyped-def]
    missing = await web.post("/auth/mfa", json={"code": "123456"})
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "mfa_token"
    forged = await web.post("/auth/mfa", json={"mfa_token": "a.b.c", "code": "123456"})
    assert forged.status_code == 401 and forged.json()["error"]["field"] == "mfa_token"


async def test_wrong_codes_lock_the_second_factor(web, world, sessions) -> None:  # type: ignore[no-untyped-def]
    user = await _unique_user(sessions, world)
    login = {"tenant": world.slug, "email": user.email, "password": PASSWORD, "cookie": False}
    token = (await web.post("/auth/login", json=login)).json()["access_token"]
    await _enrol(web, token)
    step = (await web.post("/auth/login", json=login)).json()
    statuses = [
        (await web.post("/auth/mfa", json={"mfa_token": step["mfa_token"], "code": f"00000{i}"})).status_code
        for i in range(6)
    ]
    assert statuses == [401, 401, 401, 401, 429, 429]


async def test_disabling_totp_needs_a_fresh_code(web, world, sessions) -> None:  # type: ignore[no-untyped-def]
    user = await _unique_user(sessions, world)
    login = {"tenant": world.slug, "email": user.email, "password": PASSWORD, "cookie": False}
    token = (await web.post("/auth/login", json=login)).json()["access_token"]
    secret, recovery = await _enrol(web, token)
    assert (await _data(web, token, DISABLE, code=recovery[1]))["disableTotp"]["errors"][0]["field"] == "code"
    assert (await _data(web, token, DISABLE, code=_code_of_next_step(secret)))["disableTotp"] == {
        "ok": True,
        "errors": [],
    }
    assert "access_token" in (await web.post("/auth/login", json=login)).json()


async def test_a_tenant_rule_leads_users_to_enrol_at_sign_in(web, sessions) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(sessions)
    async with sessions() as session, session.begin():
        for key in ("admin", "am_east", "d1_admin", "r1a_sales"):
            session.add(
                UserCredential(
                    tenant_id=world.tenant_id, user_id=world.users[key].id, password_hash=await hash_password(PASSWORD)
                )
            )
    admin = (await _login(web, world, "admin")).json()["access_token"]
    bad = (await _data(web, admin, SETTINGS, o=["ftp://x.example", "http://evil.example"]))["setSignInSettings"]
    assert [e["field"] for e in bad["errors"]] == ["frontendOrigins", "frontendOrigins"]
    am = (await _login(web, world, "am_east")).json()["access_token"]
    denied = (await _data(web, am, SETTINGS, m="NONE"))["setSignInSettings"]
    assert denied["errors"][0]["code"] == "FORBIDDEN"
    done = (await _data(web, admin, SETTINGS, m="INTERNAL", o=["https://Portal.Example.com/"]))["setSignInSettings"]
    assert done["settings"] == {"mfaRequirement": "INTERNAL", "frontendOrigins": ["https://portal.example.com"]}

    # An internal user without a second factor is led to enrol; a partner user is not asked.
    step = (await _login(web, world, "am_east", cookie=False)).json()
    assert step["mfa_required"] is True and step["mfa_enrollment_required"] is True
    assert step["otpauth_uri"].startswith("otpauth://totp/")
    assert "access_token" in (await _login(web, world, "r1a_sales")).json()
    finished = await web.post(
        "/auth/mfa",
        json={"mfa_token": step["mfa_token"], "code": pyotp.TOTP(step["totp_secret"]).now(), "cookie": False},
    )
    assert finished.status_code == 200, finished.text
    assert len(finished.json()["recovery_codes"]) == 10
    token = finished.json()["access_token"]
    # Required: it cannot be turned off.
    disable = (await _data(web, token, DISABLE, code=_code_of_next_step(step["totp_secret"])))["disableTotp"]
    assert disable["errors"][0]["code"] == "MFA_REQUIRED"

    async with sessions() as session, session.begin():
        await session.execute(update(Tenant).where(Tenant.id == world.tenant_id).values(mfa_requirement="everyone"))
    assert (await _login(web, world, "r1a_sales")).json()["mfa_required"] is True


# --- browser front ends -------------------------------------------------------------------------------------------


async def test_cors_answers_registered_front_ends_only(web, world, sessions) -> None:  # type: ignore[no-untyped-def]
    origin = f"https://portal-{uuid.uuid4().hex[:6]}.example.com"
    stranger = "https://evil.example"
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, x-crm-csrf"}
    # Not yet registered: no CORS consent.
    refused = await web.options("/auth/refresh", headers={"Origin": origin, **preflight})
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers

    async with sessions() as session, session.begin():
        await session.execute(update(Tenant).where(Tenant.id == world.tenant_id).values(frontend_origins=[origin]))
    allowed = await web.options("/auth/refresh", headers={"Origin": origin, **preflight})
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == origin
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "X-CRM-CSRF" in allowed.headers["access-control-allow-headers"]

    token = (await _login(web, world, "am_east")).json()["access_token"]
    ours = await web.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}", "Origin": origin}
    )
    assert ours.status_code == 200 and ours.headers["access-control-allow-origin"] == origin
    theirs = await web.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}", "Origin": stranger}
    )
    assert "access-control-allow-origin" not in theirs.headers
    assert (await web.options("/graphql", headers={"Origin": stranger, **preflight})).status_code == 403


async def test_changes_to_ones_sign_in_are_in_the_audit_trail(web, world, sessions) -> None:  # type: ignore[no-untyped-def]
    user = await _unique_user(sessions, world)
    login = {"tenant": world.slug, "email": user.email, "password": PASSWORD, "cookie": False}
    token = (await web.post("/auth/login", json=login)).json()["access_token"]
    await _enrol(web, token)
    done = (await _data(web, token, CHANGE, c=PASSWORD, n="quartz-meadow-falcon-77"))["changePassword"]
    assert done["errors"] == []
    admin = (await _login(web, world, "admin")).json()["access_token"]
    events = await _data(
        web, admin, "query($id: ID!) { auditEvents(recordId: $id) { edges { node { action actorName } } } }",
        id=gid("User", user.id),
    )  # fmt: skip
    actions = [e["node"]["action"] for e in events["auditEvents"]["edges"]]
    assert actions[:2] == ["password_changed", "two_factor_enabled"]
    assert {e["node"]["actorName"] for e in events["auditEvents"]["edges"][:2]} == {user.email}
