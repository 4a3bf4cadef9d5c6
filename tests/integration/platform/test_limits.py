"""Operation limits and error masking apply to every operation."""

from __future__ import annotations

import logging

import pytest

from api.graphql.limits import MAX_ALIASES, MAX_DEPTH
from tests.integration.graphql_client import caller_for
from tests.integration.world import build_world


@pytest.fixture(scope="module")
async def world(sessions):  # type: ignore[no-untyped-def]
    return await build_world(sessions)


@pytest.fixture
async def admin(client, sessions, world):  # type: ignore[no-untyped-def]
    return await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)


async def test_depth_limit(admin) -> None:  # type: ignore[no-untyped-def]
    nested = "organization { parent " * MAX_DEPTH + "{ name }" + " }" * MAX_DEPTH
    body = await admin(f"query {{ me {{ {nested} }} }}")
    assert body["data"] is None
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]


async def test_alias_limit(admin) -> None:  # type: ignore[no-untyped-def]
    aliases = " ".join(f"a{i}: me {{ name }}" for i in range(MAX_ALIASES + 1))
    body = await admin(f"query {{ {aliases} }}")
    assert body["data"] is None
    assert "aliases" in body["errors"][0]["message"].lower()


async def test_token_limit(admin) -> None:  # type: ignore[no-untyped-def]
    fields = " ".join("name" for _ in range(5000))
    body = await admin(f"query {{ me {{ {fields} }} }}")
    assert body["data"] is None
    assert "token" in body["errors"][0]["message"].lower()


async def test_unexpected_errors_are_masked_and_logged_with_a_request_id(admin, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    import api.graphql.selling.opportunities.queries as queries

    def explode(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(queries, "opportunities_query", explode)
    with caplog.at_level(logging.ERROR, logger="crm.graphql"):
        body = await admin("query { opportunities(first: 1) { totalCount } }")
    error = body["errors"][0]
    assert error["message"] == "Unexpected error."
    assert error["extensions"]["code"] == "INTERNAL"
    request_id = error["extensions"]["requestId"]
    assert request_id
    assert "hunter2" not in str(body)
    assert any(request_id in r.getMessage() and "hunter2" in (r.exc_text or "") for r in caplog.records)


async def test_field_suggestions_only_outside_production() -> None:
    from api.graphql.schema import build_schema

    typo = "{ opportunitys { totalCount } }"
    development = await build_schema(production=False).execute(typo)
    production = await build_schema(production=True).execute(typo)
    assert "Did you mean" in development.errors[0].message
    assert "Did you mean" not in production.errors[0].message
    assert "opportunitys" in production.errors[0].message
