"""Single sign-on by OpenID Connect, through HTTP, against real oidc-provider processes (tests/oidc/harness.py).

Provider A gives e-mail and groups from its userinfo endpoint only (a code flow's ID token carries just the
subject there); provider B puts them in the ID token. B also plays the foreign provider in the mix-up tests.
The app under test has its public URL at http://testserver, the ASGI client's base, so the redirect URI
registered at the providers is the one the app builds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from api.app import create_app
from api.auth.responses import CSRF_HEADER, REFRESH_COOKIE
from api.settings import Settings
from domain.audit.trail import AuditEvent
from domain.channel.organizations import Organization, OrganizationStatus
from domain.identity.sign_in.models import AuthSession, SsoConnection, SsoLogin
from domain.identity.tenants import Tenant
from domain.identity.users import User
from domain.shared.base import utcnow
from tests.integration.graphql_client import caller_for
from tests.integration.world import World, build_world
from tests.oidc.harness import OidcProvider, ProviderResponse, RegisteredClient, running_provider
from tests.reads import read_for_test

PUBLIC_URL = "http://testserver"

CONFIGURE = "mutation($input: ConfigureSsoInput!) { configureSso(input: $input) { ssoConnection { issuer clientId clientSecretSet allowedDomains groupsClaim roleMapping { group roles } createUsers enabled redirectUri signInUrl } errors { field code message } } }"
READ = "{ ssoConnection { issuer clientId clientSecretSet allowedDomains enabled redirectUri } ssoRedirectUri }"
READ_CONNECTION = "{ ssoConnection { issuer clientSecretSet } }"
REMOVE = "mutation { removeSso { removed errors { code message } } }"
ME = "{ me { email } }"


@pytest.fixture(scope="session")
def providers() -> Iterator[tuple[OidcProvider, OidcProvider]]:
    """Two real providers for the whole session: A (claims by userinfo) and B (claims in the ID token)."""
    with running_provider() as a, running_provider(claims_in_id_token=True) as b:
        yield a, b


@pytest.fixture(scope="session")
async def sso_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Starlette]:
    settings = Settings(
        database_url=None, data_dir=tmp_path_factory.mktemp("crm-sso"), production=False, public_url=PUBLIC_URL
    )
    application = create_app(settings, database_url=database_url)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def browser(sso_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh client (its own cookie jar) on the app, as one person's browser."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sso_app), base_url=PUBLIC_URL) as client:
        yield client


def callback_uri(world: World) -> str:
    return f"{PUBLIC_URL}/auth/sso/{world.slug}/callback"


def domain_of(world: World) -> str:
    return f"{world.slug}.example"


async def configure_sso(
    browser: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    world: World,
    provider: OidcProvider,
    **overrides: Any,
) -> RegisteredClient:
    """Register a client for the world's tenant at the provider and configure SSO with it, as the tenant admin."""
    client = provider.register_client(callback_uri(world))
    admin = await caller_for(browser, sessions, world.tenant_id, world.users["admin"].id)
    config = {
        "issuer": provider.issuer, "clientId": client.client_id, "clientSecret": client.client_secret,
        "allowedDomains": [domain_of(world)], "roleMapping": [{"group": "crm-admins", "roles": ["admin"]}],
    } | overrides  # fmt: skip
    data = await admin.data(CONFIGURE, input=config)
    assert data["configureSso"]["errors"] == []
    return client


def account(provider: OidcProvider, world: World, key: str, **claims: Any) -> str:
    """A provider account for a (possibly new) person of the world's tenant; returns its account id."""
    account_id = f"{world.slug}-{key}"
    defaults = {"email": f"{key}@{domain_of(world)}", "email_verified": True, "name": key.title(), "groups": []}
    provider.put_account(account_id, **(defaults | claims))
    return account_id


async def start(browser: httpx.AsyncClient, world: World, **params: str) -> httpx.Response:
    response = await browser.get(f"/auth/sso/{world.slug}", params=params)
    assert response.status_code == 302, response.text
    return response


async def through_provider(
    browser: httpx.AsyncClient, provider: OidcProvider, world: World, account_id: str, **params: str
) -> ProviderResponse:
    """Start at the app and sign in at the provider; the provider's answer, not yet given to the app."""
    started = await start(browser, world, **params)
    back = await provider.login(started.headers["location"], account_id)
    assert back.url.startswith(callback_uri(world) + "?"), back.url
    return back


async def sign_in(
    browser: httpx.AsyncClient, provider: OidcProvider, world: World, account_id: str, **params: str
) -> httpx.Response:
    back = await through_provider(browser, provider, world, account_id, **params)
    return await browser.get(back.url)


def refused(response: httpx.Response, status: int, reason: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert REFRESH_COOKIE not in response.headers.get("set-cookie", "")
    error: dict[str, Any] = response.json()["error"]
    assert error["message"]
    if reason is not None:
        assert error.get("reason") == reason, error
    return error


async def session_count(sessions: async_sessionmaker[AsyncSession], world: World) -> int:
    async with sessions() as s:
        return int(
            await s.scalar(
                select(func.count()).select_from(AuthSession).where(AuthSession.tenant_id == world.tenant_id)
            )
            or 0
        )


async def user_by_email(sessions: async_sessionmaker[AsyncSession], world: World, email: str) -> User | None:
    async with sessions() as s:
        return await s.scalar(read_for_test(select(User).where(User.tenant_id == world.tenant_id, User.email == email)))


async def state_of(response: httpx.Response) -> str:
    return parse_qs(urlsplit(response.headers["location"]).query)["state"][0]


# --- signing in ---------------------------------------------------------------------------------------------


async def test_an_existing_user_signs_in_and_keeps_their_roles(browser, sessions, world, providers) -> None:
    # Given SSO at provider A, and am_east known there (by an e-mail in other letter case, in an admin group)
    provider = providers[0]
    await configure_sso(browser, sessions, world, provider)
    am_east = world.users["am_east"]
    account_id = account(provider, world, "am_east", email=am_east.email.upper(), groups=["crm-admins"])

    # When they start signing in, the provider is asked for a code with PKCE S256, state and nonce
    started = await start(browser, world)
    query = parse_qs(urlsplit(started.headers["location"]).query)
    assert started.headers["location"].startswith(f"{provider.issuer}/auth?")
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["nonce"][0] and query["state"][0] and query["redirect_uri"] == [callback_uri(world)]
    assert "groups" in query["scope"][0].split()
    back = await provider.login(started.headers["location"], account_id)
    assert back.params["iss"] == provider.issuer
    response = await browser.get(back.url)

    # Then they are sent back to the default place with the refresh cookie, and the cookie buys an access token
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{PUBLIC_URL}/graphql"
    assert REFRESH_COOKIE in response.cookies
    refreshed = await browser.post("/auth/refresh", headers={CSRF_HEADER: "1"})
    assert refreshed.status_code == 200, refreshed.text
    token = refreshed.json()["access_token"]
    me = await browser.post("/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"})
    assert me.json()["data"]["me"]["email"] == am_east.email
    # ... their session says SSO, and the provider's groups did not change their roles
    async with sessions() as s:
        methods = (await s.scalars(select(AuthSession.method).where(AuthSession.tenant_id == world.tenant_id))).all()
    assert methods == ["sso"]
    user = await user_by_email(sessions, world, am_east.email)
    assert user is not None and user.roles == ["account_manager"]


async def test_a_new_user_is_made_with_mapped_roles_where_the_tenant_allows(
    browser, sessions, world, providers
) -> None:
    # Given SSO that makes users, mapping two groups to roles
    provider = providers[0]
    mapping = [{"group": "crm-sales", "roles": ["sales_manager"]}, {"group": "crm-finance", "roles": ["finance"]}]
    await configure_sso(browser, sessions, world, provider, createUsers=True, roleMapping=mapping)
    account_id = account(provider, world, "newcomer", name="New Comer", groups=["crm-sales", "crm-finance", "x"])

    # When a person with no account signs in
    response = await sign_in(browser, provider, world, account_id)

    # Then they are a user of the enterprise with the mapped internal roles, audited
    assert response.status_code == 303, response.text
    user = await user_by_email(sessions, world, f"newcomer@{domain_of(world)}")
    assert user is not None
    assert (user.name, user.roles, user.organization_id) == (
        "New Comer",
        ["finance", "sales_manager"],
        world.orgs["E"].id,
    )
    async with sessions() as s:
        actions = (
            await s.scalars(read_for_test(select(AuditEvent.action).where(AuditEvent.record_id == user.id)))
        ).all()
    assert actions == ["created_by_sso"]
    assert await session_count(sessions, world) == 1


async def test_a_new_user_is_refused_where_the_tenant_does_not_make_users(browser, sessions, world, providers) -> None:
    provider = providers[0]
    await configure_sso(browser, sessions, world, provider, createUsers=False)
    account_id = account(provider, world, "stranger", groups=["crm-admins"])

    response = await sign_in(browser, provider, world, account_id)

    refused(response, 401, "NO_ACCOUNT")
    assert await user_by_email(sessions, world, f"stranger@{domain_of(world)}") is None
    assert await session_count(sessions, world) == 0


async def test_a_new_user_without_a_mapped_group_is_refused(browser, sessions, world, providers) -> None:
    provider = providers[0]
    await configure_sso(browser, sessions, world, provider, createUsers=True)
    account_id = account(provider, world, "unmapped", groups=["somebody-else"])

    refused(await sign_in(browser, provider, world, account_id), 401, "NO_ROLE")
    assert await user_by_email(sessions, world, f"unmapped@{domain_of(world)}") is None


async def test_claims_may_come_in_the_id_token(browser, sessions, world, providers) -> None:
    # Given a tenant on provider B, which sends e-mail and groups in the ID token (and JIT creation)
    provider = providers[1]
    await configure_sso(browser, sessions, world, provider, createUsers=True)
    account_id = account(provider, world, "boss", groups=["crm-admins"])

    response = await sign_in(browser, provider, world, account_id)

    assert response.status_code == 303, response.text
    user = await user_by_email(sessions, world, f"boss@{domain_of(world)}")
    assert user is not None and user.roles == ["admin"]


async def test_return_to_a_registered_front_end(browser, sessions, world, providers) -> None:
    provider = providers[0]
    await configure_sso(browser, sessions, world, provider)
    async with sessions() as s, s.begin():
        await s.execute(
            update(Tenant).where(Tenant.id == world.tenant_id).values(frontend_origins=["https://portal.example:8443"])
        )
    account_id = account(provider, world, "finance", email=world.users["finance"].email)

    response = await sign_in(browser, provider, world, account_id, return_to="https://portal.example:8443/deals?x=1")

    assert response.status_code == 303, response.text
    assert response.headers["location"] == "https://portal.example:8443/deals?x=1"
    assert REFRESH_COOKIE in response.cookies


@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.example/",
        "//evil.example/",
        "https://testserver.evil.example/",
        "http://testserver@evil.example/",
        "https://portal.example/",  # the front end's origin has port 8443
        "/\\evil.example",
        "javascript:alert(1)",
    ],
)
async def test_an_open_redirect_is_refused(browser, sessions, world, providers, return_to) -> None:
    provider = providers[0]
    await configure_sso(browser, sessions, world, provider)
    async with sessions() as s, s.begin():
        await s.execute(
            update(Tenant).where(Tenant.id == world.tenant_id).values(frontend_origins=["https://portal.example:8443"])
        )

    response = await browser.get(f"/auth/sso/{world.slug}", params={"return_to": return_to})

    error = refused(response, 400)
    assert error["field"] == "return_to"
    async with sessions() as s:
        assert await s.scalar(select(func.count()).where(SsoLogin.tenant_id == world.tenant_id)) == 0


# --- the state, the nonce and the provider's answer ---------------------------------------------------------


async def test_a_made_up_or_missing_state_is_refused(browser, sessions, world, providers) -> None:
    provider = providers[0]
    await configure_sso(browser, sessions, world, provider)
    account_id = account(provider, world, "am_west", email=world.users["am_west"].email)
    back = await through_provider(browser, provider, world, account_id)

    made_up = await browser.get(f"/auth/sso/{world.slug}/callback", params={**back.params, "state": "made-up"})
    missing = await browser.get(
        f"/auth/sso/{world.slug}/callback", params={k: v for k, v in back.params.items() if k != "state"}
    )

    refused(made_up, 400, "STATE_UNKNOWN")
    refused(missing, 400, "STATE_UNKNOWN")
    assert await session_count(sessions, world) == 0


async def test_a_state_of_another_tenant_is_refused(browser, sessions, world, providers) -> None:
    provider = providers[0]
    await configure_sso(browser, sessions, world, provider)
    other = await build_world(sessions)
    await configure_sso(browser, sessions, other, provider)
    account_id = account(provider, world, "am_west", email=world.users["am_west"].email)
    back = await through_provider(browser, provider, world, account_id)

    response = await browser.get(f"/auth/sso/{other.slug}/callback", params=back.params)

    refused(response, 400, "STATE_UNKNOWN")


async def test_a_state_is_good_once(browser, sessions, world, providers) -> None:
    provider = providers[0]
    await configure_sso(browser, sessions, world, provider)
    account_id = account(provider, world, "director", email=world.users["director"].email)
    back = await through_provider(browser, provider, world, account_id)
    assert (await browser.get(back.url)).status_code == 303

    again = await browser.get(back.url)

    refused(again, 400, "STATE_USED")
    assert await session_count(sessions, world) == 1


async def test_an_expired_state_is_refused(browser, sessions, world, providers) -> None:
    provider = providers[0]
    await configure_sso(browser, sessions, world, provider)
    account_id = account(provider, world, "director", email=world.users["director"].email)
    back = await through_provider(browser, provider, world, account_id)
    async with sessions() as s, s.begin():
        await s.execute(
            update(SsoLogin)
            .where(SsoLogin.state == back.params["state"])
            .values(expires_at=utcnow() - timedelta(seconds=1), created_at=utcnow() - timedelta(minutes=11))
        )

    refused(await browser.get(back.url), 400, "STATE_EXPIRED")
    assert await session_count(sessions, world) == 0


async def test_an_id_token_with_another_nonce_is_refused(browser, sessions, world, providers) -> None:
    # Given a sign-in whose stored nonce is not the one the provider put in the ID token
    provider = providers[0]
    await configure_sso(browser, sessions, world, provider)
    account_id = account(provider, world, "director", email=world.users["director"].email)
    back = await through_provider(browser, provider, world, account_id)
    async with sessions() as s, s.begin():
        await s.execute(update(SsoLogin).where(SsoLogin.state == back.params["state"]).values(nonce="tampered"))

    refused(await browser.get(back.url), 401, "NONCE_MISMATCH")
    assert await session_count(sessions, world) == 0


async def test_an_answer_from_another_provider_is_refused(browser, sessions, world, providers) -> None:
    # Given a sign-in started at provider A, answered by provider B (a mix-up: B also knows our redirect URI)
    provider_a, provider_b = providers
    await configure_sso(browser, sessions, world, provider_a)
    client_b = provider_b.register_client(callback_uri(world))
    account_id = account(provider_b, world, "director", email=world.users["director"].email)
    started = await start(browser, world)
    state = await state_of(started)
    query = httpx.QueryParams(
        client_id=client_b.client_id, response_type="code", redirect_uri=callback_uri(world), scope="openid email",
        state=state, nonce="n", code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method="S256",
    )  # fmt: skip
    back = await provider_b.login(f"{provider_b.issuer}/auth?{query}", account_id)
    assert back.params["iss"] == provider_b.issuer

    refused(await browser.get(back.url), 401, "FOREIGN_ISSUER")
    assert await session_count(sessions, world) == 0


class RewriteIdToken(httpx.AsyncBaseTransport):
    """Carries the app's requests to the providers, and changes the ID token in token responses on the way back."""

    def __init__(self, rewrite: Callable[[str], str]) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.rewrite = rewrite

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method != "POST" or not request.url.path.endswith("/token"):
            return response
        body = json.loads(await response.aread())
        body["id_token"] = self.rewrite(body["id_token"])
        return httpx.Response(response.status_code, json=body)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_an_id_token_of_a_foreign_issuer_is_refused(browser, sessions, world, providers, sso_app, monkeypatch):
    # Given a real ID token from provider B, swapped in for A's in A's token response
    provider_a, provider_b = providers
    await configure_sso(browser, sessions, world, provider_a)
    account_id = account(provider_a, world, "director", email=world.users["director"].email)
    account(provider_b, world, "director", email=world.users["director"].email)
    back = await through_provider(browser, provider_a, world, account_id)
    async with sessions() as s:
        nonce = await s.scalar(select(SsoLogin.nonce).where(SsoLogin.state == back.params["state"]))
    assert nonce is not None
    foreign = await provider_b.tokens_for(provider_b.register_client(callback_uri(world)), f"{world.slug}-director",
                                          nonce=nonce)  # fmt: skip
    monkeypatch.setattr(sso_app.state, "oidc_transport", RewriteIdToken(lambda _: foreign["id_token"]), raising=False)

    refused(await browser.get(back.url), 401, "FOREIGN_ISSUER")
    assert await session_count(sessions, world) == 0


async def test_an_id_token_with_a_bad_signature_is_refused(browser, sessions, world, providers, sso_app, monkeypatch):
    # Given A's real ID token with its claims changed (a person made admin of someone else) after A signed it
    provider = providers[0]
    await configure_sso(browser, sessions, world, provider)
    account_id = account(provider, world, "director", email=world.users["director"].email)
    back = await through_provider(browser, provider, world, account_id)

    def tamper(id_token: str) -> str:
        import base64

        header, payload, signature = id_token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["sub"] = f"{world.slug}-admin"
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"{header}.{forged}.{signature}"

    monkeypatch.setattr(sso_app.state, "oidc_transport", RewriteIdToken(tamper), raising=False)

    refused(await browser.get(back.url), 401, "BAD_SIGNATURE")
    assert await session_count(sessions, world) == 0


async def test_the_provider_declining_is_refused(browser, sessions, world, providers) -> None:
    provider = providers[0]
    await configure_sso(browser, sessions, world, provider)
    started = await start(browser, world)
    back = await provider.login(started.headers["location"], "nobody", decline=True)
    assert back.params["error"] == "access_denied"

    refused(await browser.get(back.url), 401, "PROVIDER_DECLINED")
    refused(await browser.get(back.url), 400, "STATE_USED")


# --- who may sign in ----------------------------------------------------------------------------------------


async def test_an_e_mail_outside_the_allowed_domains_is_refused(browser, sessions, world, providers) -> None:
    provider = providers[0]
    await configure_sso(browser, sessions, world, provider, createUsers=True)
    account_id = account(provider, world, "outsider", email="outsider@elsewhere.example", groups=["crm-admins"])

    error = refused(await sign_in(browser, provider, world, account_id), 401, "EMAIL_NOT_ALLOWED")

    assert "outsider@elsewhere.example" in error["message"]
    assert await user_by_email(sessions, world, "outsider@elsewhere.example") is None


async def test_an_unverified_e_mail_is_refused(browser, sessions, world, providers) -> None:
    provider = providers[0]
    await configure_sso(browser, sessions, world, provider)
    account_id = account(provider, world, "am_east", email=world.users["am_east"].email, email_verified=False)

    refused(await sign_in(browser, provider, world, account_id), 401, "EMAIL_NOT_VERIFIED")
    assert await session_count(sessions, world) == 0


async def test_a_deactivated_user_is_refused(browser, sessions, world, providers) -> None:
    provider = providers[0]
    await configure_sso(browser, sessions, world, provider, createUsers=True)
    async with sessions() as s, s.begin():
        await s.execute(update(User).where(User.id == world.users["am_west"].id).values(is_active=False))
    account_id = account(provider, world, "am_west", email=world.users["am_west"].email, groups=["crm-admins"])

    refused(await sign_in(browser, provider, world, account_id), 401, "ACCOUNT_INACTIVE")
    assert await session_count(sessions, world) == 0


async def test_a_user_of_a_suspended_organization_is_refused(browser, sessions, world, providers) -> None:
    provider = providers[0]
    d1_admin = world.users["d1_admin"]
    await configure_sso(browser, sessions, world, provider)
    async with sessions() as s, s.begin():
        await s.execute(
            update(Organization)
            .where(Organization.id == world.orgs["D1"].id)
            .values(status=OrganizationStatus.SUSPENDED)
        )
    account_id = account(provider, world, "d1_admin", email=d1_admin.email)

    refused(await sign_in(browser, provider, world, account_id), 401, "ACCOUNT_INACTIVE")


async def test_sso_not_set_up_disabled_or_unknown_tenant(browser, sessions, world, providers) -> None:
    provider = providers[0]
    not_set_up = await browser.get(f"/auth/sso/{world.slug}")
    unknown = await browser.get(f"/auth/sso/no-such-{uuid.uuid4().hex[:6]}")
    await configure_sso(browser, sessions, world, provider, enabled=False)
    disabled = await browser.get(f"/auth/sso/{world.slug}")
    disabled_callback = await browser.get(f"/auth/sso/{world.slug}/callback", params={"state": "x", "code": "y"})

    for response in (not_set_up, unknown, disabled, disabled_callback):
        assert refused(response, 404)["code"] == "NOT_FOUND"
    assert not_set_up.json() == unknown.json()


async def test_a_provider_whose_discovery_names_another_issuer_is_refused(browser, sessions, world, providers):
    # Given a tenant configured with provider A's URL spelled differently from A's own issuer
    provider = providers[0]
    await configure_sso(browser, sessions, world, provider, issuer=provider.issuer.replace("127.0.0.1", "localhost"))

    response = await browser.get(f"/auth/sso/{world.slug}")

    refused(response, 502, "PROVIDER_MISCONFIGURED")


# --- configuring it, through GraphQL ------------------------------------------------------------------------


async def test_an_admin_configures_sso_and_never_sees_the_secret(browser, sessions, world, providers) -> None:
    admin = await caller_for(browser, sessions, world.tenant_id, world.users["admin"].id)
    provider = providers[0]
    redirect_uri = callback_uri(world)
    assert await admin.data(READ) == {"ssoConnection": None, "ssoRedirectUri": redirect_uri}

    # When the admin configures SSO
    secret = f"secret-{uuid.uuid4().hex}"
    config = {
        "issuer": provider.issuer, "clientId": "crm", "clientSecret": secret,
        "allowedDomains": [domain_of(world).upper(), "@Second.example"], "groupsClaim": "roles",
        "roleMapping": [{"group": "crm-sales", "roles": ["sales_manager", "account_manager"]}], "createUsers": True,
    }  # fmt: skip
    response = await browser.post(
        "/graphql",
        json={"query": CONFIGURE, "variables": {"input": config}},
        headers={"Authorization": f"Bearer {admin.token}"},
    )

    # Then it is stored, shown without the secret, with the redirect URI to register
    assert secret not in response.text
    payload = response.json()["data"]["configureSso"]
    assert payload["errors"] == []
    assert payload["ssoConnection"] == {
        "issuer": provider.issuer, "clientId": "crm", "clientSecretSet": True,
        "allowedDomains": [domain_of(world), "second.example"], "groupsClaim": "roles",
        "roleMapping": [{"group": "crm-sales", "roles": ["account_manager", "sales_manager"]}], "createUsers": True,
        "enabled": True, "redirectUri": redirect_uri, "signInUrl": f"{PUBLIC_URL}/auth/sso/{world.slug}",
    }  # fmt: skip
    # ... a change without a secret keeps the stored one
    changed = await admin.data(CONFIGURE, input=config | {"clientSecret": None, "enabled": False})
    assert changed["configureSso"]["ssoConnection"]["enabled"] is False
    async with sessions() as s:
        row = await s.get(SsoConnection, world.tenant_id)
        assert row is not None and row.client_secret == secret and row.enabled is False
        audited = (
            await s.scalars(
                read_for_test(
                    select(AuditEvent.action)
                    .where(AuditEvent.record_id == world.tenant_id, AuditEvent.record_type == "sso_connection")
                    .order_by(AuditEvent.occurred_at)
                )
            )
        ).all()
    assert audited == ["created", "updated"]
    read = await admin(READ)
    assert secret not in json.dumps(read)
    # ... and removing it leaves none
    assert (await admin.data(REMOVE))["removeSso"] == {"removed": True, "errors": []}
    assert (await admin.data(READ))["ssoConnection"] is None


@pytest.mark.parametrize("user_key", ["director", "am_east", "d1_admin"])
async def test_others_may_not_read_or_change_sso(browser, sessions, world, providers, user_key) -> None:
    # Given SSO set up by the admin
    await configure_sso(browser, sessions, world, providers[0])
    caller = await caller_for(browser, sessions, world.tenant_id, world.users[user_key].id)

    read = await caller(READ_CONNECTION)
    change = await caller(CONFIGURE, input={"issuer": "https://idp.example", "clientId": "x", "clientSecret": "y",
                                            "allowedDomains": ["x.example"]})  # fmt: skip
    remove = await caller(REMOVE)

    assert (read["data"] or {}).get("ssoConnection") is None
    assert read["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert change["data"]["configureSso"] == {
        "ssoConnection": None,
        "errors": [
            {"field": None, "code": "FORBIDDEN", "message": "Only tenant admins read or change single sign-on."}
        ],
    }
    assert remove["data"]["removeSso"]["errors"][0]["code"] == "FORBIDDEN"
    async with sessions() as s:
        row = await s.get(SsoConnection, world.tenant_id)
    assert row is not None and row.issuer == providers[0].issuer


async def test_bad_configuration_is_refused_field_by_field(browser, sessions, world) -> None:
    admin = await caller_for(browser, sessions, world.tenant_id, world.users["admin"].id)
    config = {
        "issuer": "http://idp.example", "clientId": " ", "allowedDomains": ["not a domain", "ok.example"],
        "groupsClaim": "has space",
        "roleMapping": [{"group": "g", "roles": ["partner_admin", "nope"]}, {"group": "g", "roles": ["admin"]},
                        {"group": "h", "roles": []}],
    }  # fmt: skip

    payload = (await admin.data(CONFIGURE, input=config))["configureSso"]

    assert payload["ssoConnection"] is None
    assert {(e["field"], e["code"]) for e in payload["errors"]} == {
        ("issuer", "INVALID"),
        ("clientId", "REQUIRED"),
        ("clientSecret", "REQUIRED"),
        ("allowedDomains[0]", "INVALID"),
        ("groupsClaim", "INVALID"),
        ("roleMapping[0].roles", "INVALID"),
        ("roleMapping[1].group", "DUPLICATE"),
        ("roleMapping[2].roles", "REQUIRED"),
    }
    for issuer in ("ftp://idp.example", "https://idp.example/?x=1", "idp.example", "https://user:pw@idp.example"):
        errors = (await admin.data(CONFIGURE, input={"issuer": issuer, "clientId": "c", "clientSecret": "s",
                                                     "allowedDomains": ["ok.example"]}))["configureSso"]["errors"]  # fmt: skip
        assert [(e["field"], e["code"]) for e in errors] == [("issuer", "INVALID")], issuer
    no_domains = await admin.data(CONFIGURE, input={"issuer": "https://idp.example", "clientId": "c", "clientSecret": "s",
                                                    "allowedDomains": []})  # fmt: skip
    assert [(e["field"], e["code"]) for e in no_domains["configureSso"]["errors"]] == [("allowedDomains", "REQUIRED")]
    async with sessions() as s:
        assert await s.get(SsoConnection, world.tenant_id) is None


async def test_an_unreachable_provider_is_a_gateway_error(browser, sessions, world, providers) -> None:
    # Given a tenant whose issuer is a port of this machine nothing listens on
    await configure_sso(browser, sessions, world, providers[0], issuer="http://127.0.0.1:9")

    response = await browser.get(f"/auth/sso/{world.slug}")

    refused(response, 502, "PROVIDER_UNAVAILABLE")
    async with sessions() as s:
        assert await s.scalar(select(func.count()).where(SsoLogin.tenant_id == world.tenant_id)) == 0
