"""Identity's use cases that own their transaction: the steps of signing in, tokens and the service's signing keys.

Nobody is signed in during these steps, so there is no actor's unit of work: each step runs in a transaction of
its own (`signing_in`), and the domain reads the person's user through the named system access `sign-in` of
their tenant once it knows the tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.principals import LoadedActor, load_client_actor, load_user_actor, token_roles
from domain.identity import machine_clients
from domain.identity.machine_clients import OAuthClient, register_client
from domain.identity.sign_in import links, login, sso
from domain.identity.sign_in.links import LinkPages
from domain.identity.sign_in.login import KnownUser, NextStep, SecondFactor, SignInFailed
from domain.identity.sign_in.models import SignInMethod, SsoLogin
from domain.identity.sign_in.sessions import (
    IssuedSession,
    RefreshRefused,
    revoke_by_refresh_token,
    rotate_refresh_token,
    start_session,
)
from domain.identity.signing_keys import NewKey, live_signing_keys
from domain.identity.tenants import find_tenant, origin_registered
from domain.identity.users import User, UserOfTenant, active_users_with_email
from domain.shared.errors import NotFound
from infrastructure.db import autocommit
from infrastructure.request_connection import RequestConnection
from services.unit_of_work import Sessions


@asynccontextmanager
async def signing_in(sessions: Sessions) -> AsyncIterator[AsyncSession]:
    """A transaction for one step of signing in: commits when the block ends normally, rolls back on any error."""
    async with sessions() as session, session.begin():
        yield session


async def principal(
    sessions: Sessions,
    tenant_id: uuid.UUID,
    *,
    user_id: uuid.UUID | None,
    client_id: str | None,
    session_id: uuid.UUID | None = None,
    connection: RequestConnection | None = None,
) -> LoadedActor | None:
    """The actor a verified token names (a user, or else a machine client), or None when it may no longer act.

    Every request asks this first, so it is one statement and no more: outside any transaction (autocommit). A
    user's is run on the request's own connection when it has one (`connection`), which its later fixed
    statements then reuse.
    """
    if user_id is not None and connection is not None:
        async with connection.use() as driver:
            return await load_user_actor(driver, tenant_id, user_id, session_id)
    async with autocommit(sessions)() as session:
        if user_id is not None:
            return await load_user_actor(session, tenant_id, user_id, session_id)
        assert client_id is not None
        return await load_client_actor(session, tenant_id, client_id)


async def roles_for_token(sessions: Sessions, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[str]:
    """The roles a user's new access token names."""
    async with sessions() as session:
        return await token_roles(session, tenant_id, user_id)


async def signing_keys(sessions: Sessions, new_key: NewKey) -> list[dict[str, str]]:
    """The service's live private signing keys, newest first, made with `new_key` on first use."""
    async with sessions() as session, session.begin():
        return await live_signing_keys(session, new_key)


async def users_with_email(sessions: Sessions, email: str, tenant_slug: str | None) -> list[UserOfTenant]:
    """The active users with this e-mail in every tenant (or in one), for an operator's `crm token`."""
    async with sessions() as session:
        return await active_users_with_email(session, email, tenant_slug)


async def register_machine_client(
    sessions: Sessions, tenant_slug: str, name: str, roles: list[str]
) -> tuple[OAuthClient, str]:
    """Register a machine client of the tenant with this slug; returns it and its secret, shown only this once.

    Raises NotFound for an unknown tenant and ValidationFailed for roles a machine client may not hold.
    """
    async with sessions() as session, session.begin():
        tenant = await find_tenant(session, tenant_slug)
        if tenant is None:
            raise NotFound(f"No tenant {tenant_slug}.", field="tenant")
        return await register_client(session, tenant.id, name, roles)


async def origin_allowed(sessions: Sessions, origin: str) -> bool:
    """Whether a tenant registered this browser origin as one of its front ends (CORS)."""
    async with sessions() as session:
        return await origin_registered(session, origin)


@dataclass(frozen=True)
class Device:
    """Where a sign-in comes from: the client's address and its user agent, kept on the session it starts."""

    address: str | None
    user_agent: str | None


async def check_password(
    sessions: Sessions, *, tenant_slug: str | None, email: str | None, password: str | None, device: Device
) -> KnownUser | SignInFailed:
    """The first factor; a failure is counted (and committed) against the account and the address."""
    async with signing_in(sessions) as session:
        return await login.authenticate_password(
            session, tenant_slug=tenant_slug, email=email, password=password, address=device.address
        )


async def after_first_factor(
    sessions: Sessions, tenant_id: uuid.UUID, user_id: uuid.UUID, method: str, device: Device
) -> tuple[SecondFactor, IssuedSession | None]:
    """What the second factor asks for, and the new session when it asks nothing."""
    async with signing_in(sessions) as session:
        factor = await login.second_factor(session, tenant_id, user_id)
        if factor.step is not NextStep.SIGNED_IN:
            return factor, None
        issued = await start_session(
            session,
            tenant_id=tenant_id,
            user_id=user_id,
            method=method,
            client_address=device.address,
            user_agent=device.user_agent,
        )
        return factor, issued


async def pass_second_factor(
    sessions: Sessions,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    code: str | None,
    *,
    enrolling: bool,
    method: str,
    device: Device,
) -> tuple[list[str], IssuedSession] | SignInFailed:
    """Check the code (or finish a required enrolment) and start the session; its recovery codes when enrolling.

    A wrong code is counted and committed, and answered rather than raised.
    """
    async with signing_in(sessions) as session:
        result = await login.pass_code(session, tenant_id, user_id, code, enrolling=enrolling)
        if isinstance(result, SignInFailed):
            return result
        issued = await start_session(
            session,
            tenant_id=tenant_id,
            user_id=user_id,
            method=method,
            client_address=device.address,
            user_agent=device.user_agent,
        )
        return result, issued


async def refresh(sessions: Sessions, token: str, device: Device) -> IssuedSession | RefreshRefused:
    """Spend a refresh token for the next one; a refusal (and any revocation it caused) is committed."""
    async with signing_in(sessions) as session:
        return await rotate_refresh_token(session, token, client_address=device.address, user_agent=device.user_agent)


async def sign_out(sessions: Sessions, token: str) -> bool:
    """End the session of a refresh token; False when it names no live session."""
    async with signing_in(sessions) as session:
        return await revoke_by_refresh_token(session, token)


async def accept_invitation(sessions: Sessions, token: str | None, password: str | None) -> User:
    """Set an invited user's first password through their link (spent)."""
    async with signing_in(sessions) as session:
        return await links.accept_invitation(session, token, password)


async def reset_password(sessions: Sessions, token: str | None, password: str | None) -> User:
    """Set a new password through a reset link (spent); every session of the user ends."""
    async with signing_in(sessions) as session:
        return await links.reset_password(session, token, password)


async def request_password_reset(sessions: Sessions, *, tenant_slug: str, email: str, pages: LinkPages) -> bool:
    """Queue a reset link for the account, when there is one that may sign in; whether one was queued."""
    async with signing_in(sessions) as session:
        return await links.request_password_reset(session, tenant_slug=tenant_slug, email=email, pages=pages)


async def sso_tenant(sessions: Sessions, slug: str) -> sso.SsoTenant:
    """The tenant of this slug with its enabled single sign-on; NotFound otherwise."""
    async with sessions() as session:
        return await sso.tenant_for_sign_in(session, slug)


async def begin_sso_login(sessions: Sessions, tenant_id: uuid.UUID, return_to: str) -> SsoLogin:
    """A single sign-on in flight, with fresh state, nonce and PKCE verifier."""
    async with signing_in(sessions) as session:
        return await sso.begin_login(session, tenant_id, return_to)


async def consume_sso_login(sessions: Sessions, tenant_id: uuid.UUID, state: str | None) -> SsoLogin:
    """Spend the login of the state the provider sent back, in a transaction of its own."""
    async with signing_in(sessions) as session:
        return await sso.consume_login(session, tenant_id, state)


async def sign_in_by_sso(
    sessions: Sessions, tenant: sso.SsoTenant, identity: sso.SsoIdentity, device: Device
) -> IssuedSession:
    """Find (or make, where the tenant allows) the user the provider vouched for, and start their session."""
    async with signing_in(sessions) as session:
        user = await sso.sign_in_user(session, tenant.connection, identity)
        return await start_session(
            session,
            tenant_id=tenant.tenant_id,
            user_id=user.id,
            method=SignInMethod.SSO,
            client_address=device.address,
            user_agent=device.user_agent,
        )


async def client_to_authenticate(sessions: Sessions, client_id: str | None, address: str | None) -> OAuthClient | None:
    """The machine client a token request names (None when unknown); RateLimited while it or the address is locked."""
    async with sessions() as session:
        await machine_clients.refuse_if_throttled(session, client_id, address)
        return await machine_clients.find_client(session, client_id) if client_id else None


async def record_client_authentication(
    sessions: Sessions, client_id: str | None, address: str | None, *, succeeded: bool
) -> None:
    """Count a failed client authentication against the address and the id, or forget the id's failures."""
    async with signing_in(sessions) as session:
        if succeeded and client_id:
            await machine_clients.record_authenticated(session, client_id)
        elif not succeeded:
            await machine_clients.record_failed_authentication(session, client_id, address)
