"""Fixtures for tests through the HTTP API: the ASGI app on the test database and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from api.app import create_app
from api.settings import Settings


@pytest.fixture(scope="session")
def test_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(database_url=None, data_dir=tmp_path_factory.mktemp("crm-data"), production=False)


@pytest.fixture(scope="session")
async def app(database_url: str, test_settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(test_settings, database_url=database_url)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def world(sessions):  # type: ignore[no-untyped-def]
    """A fresh tenant with the known channel of tests/integration/world.py."""
    from tests.integration.world import build_world

    return await build_world(sessions)


@pytest.fixture
async def as_(client, sessions, world):  # type: ignore[no-untyped-def]
    """`await as_("am_east")`: a GraphQL caller signed in as that user of the world."""
    from tests.integration.graphql_client import caller_for

    async def make(key: str):  # type: ignore[no-untyped-def]
        return await caller_for(client, sessions, world.tenant_id, world.users[key].id)

    return make
