"""The open endpoints: health, readiness and the public keys."""

from __future__ import annotations

import dataclasses
import gc
import uuid

from api.app import create_app
from api.settings import Settings
from tests.conftest import create_database


async def test_healthz_is_open(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_reports_current_migrations(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


async def test_readyz_is_unavailable_before_migrations(pg_server_url, test_settings) -> None:  # type: ignore[no-untyped-def]
    import httpx

    # Given an empty database the app can reach but that was never migrated
    app = create_app(test_settings, database_url=create_database(pg_server_url, f"crm_empty_{uuid.uuid4().hex[:8]}"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c,
    ):
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert "migrations pending" in response.json()["reason"]


async def test_jwks_is_open_and_public_only(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert keys and all(k["kty"] == "EC" and "d" not in k for k in keys)


async def test_graphiql_page_is_served_without_data(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()
    response = await client.get("/graphql", params={"query": "{ me { email } }"})
    assert response.status_code == 401


async def test_in_production_start_up_moves_its_objects_out_of_the_collectors_sight(
    database_url: str, test_settings: Settings
) -> None:
    app = create_app(dataclasses.replace(test_settings, production=True), database_url=database_url)
    frozen_before = gc.get_freeze_count()
    # When the app starts, what start-up made is frozen; when it stops, it is handed back to the collector
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > frozen_before
    assert gc.get_freeze_count() == 0
