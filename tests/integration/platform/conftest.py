"""Fixtures shared by the platform tests that call the API as the three personas of the benchmark."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from domain.identity.users import User
from tests.integration.graphql_client import Caller, caller_for
from tests.integration.world import World

# The admin, a distributor's admin and a dealer's admin of the test world.
PERSONAS = {"admin": "admin", "distributor": "d1_admin", "dealer": "r1a_admin"}


@pytest.fixture
async def callers(client: httpx.AsyncClient, sessions, world: World) -> AsyncIterator[dict[str, Caller]]:  # type: ignore[no-untyped-def]
    """A signed-in caller per persona, of the `world` the test module builds."""
    yield {
        persona: await caller_for(client, sessions, world.tenant_id, world.users[key].id)
        for persona, key in PERSONAS.items()
    }


async def post_as(caller: Caller, query: str, variables: dict[str, Any], **headers: str) -> httpx.Response:
    """A POST of one operation by `caller`, its response as it came."""
    return await caller.client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {caller.token}", **headers},
    )


@asynccontextmanager
async def deactivated(sessions: Any, user_id: Any) -> AsyncIterator[None]:
    """The person deactivated while the block runs, active again after it."""
    async with sessions() as session, session.begin():
        await session.execute(update(User).where(User.id == user_id).values(is_active=False))
    try:
        yield
    finally:
        async with sessions() as session, session.begin():
            await session.execute(update(User).where(User.id == user_id).values(is_active=True))
