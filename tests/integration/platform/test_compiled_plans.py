"""A kept statement of lists carries its actor's values as constants, so PostgreSQL keeps one plan for it a connection;
a node's statement keeps them as parameters, one statement for every actor of its shape.

With the tenant, the user and the organization path as parameters it was planned on every run (custom plans:
the rules' selectivity depends on them); written into the text, the generic plan is the custom one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from api.graphql.compiled import execution
from tests.integration.graphql_client import Caller
from tests.integration.platform.conftest import PERSONAS
from tests.integration.platform.test_kept_reads import QUERIES
from tests.integration.world import World, build_world


@pytest.fixture(scope="module")
async def world(sessions: Any) -> World:
    return await build_world(sessions)


@pytest.fixture(autouse=True)
def compiled_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_COMPILED_READS", "on")


@pytest.mark.parametrize("persona", PERSONAS)
async def test_a_kept_partner_home_is_planned_once_a_connection(
    persona: str, app: Any, callers: dict[str, Caller], world: World
) -> None:
    query, variables = QUERIES["partner home"][0], QUERIES["partner home"][1](world)
    execution.CACHE.kept.clear()
    # Given the partner home, compiled and kept for the persona
    await callers[persona].data(query, **variables)
    (statement,) = {id(p.statement): p.statement for p in execution.CACHE.kept.values() if p is not None}.values()
    # Then its tenant and user are not among its parameters: the tenant is in its text
    user = world.users[PERSONAS[persona]].id
    assert world.tenant_id not in statement.parameters and user not in statement.parameters
    assert str(world.tenant_id) in statement.sql
    # And the rules' own texts (the invoice states of the receivables) are in its text too: what stays a parameter
    # is the request's own value, the instant registrations expire before
    assert statement.parameters == (datetime.fromisoformat(variables["expiresBefore"]),)
    # And PostgreSQL runs it by the plan it keeps, once past its first five runs
    async with app.state.engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        prepared = await driver.prepare(statement.sql)
        answers = {await prepared.fetchval(*statement.parameters) for _ in range(7)}
        plans = await driver.fetchrow(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1", prepared.get_name()
        )
    assert len(answers) == 1
    assert plans is not None and plans["generic_plans"] >= 2, dict(plans or {})


@pytest.mark.parametrize("persona", PERSONAS)
async def test_a_kept_deal_page_keeps_its_actors_values_as_parameters(
    persona: str, callers: dict[str, Caller], world: World
) -> None:
    query, variables = QUERIES["deal page"][0], QUERIES["deal page"][1](world)
    execution.CACHE.kept.clear()
    # Given a deal page, compiled and kept for the persona
    await callers[persona].data(query, **variables)
    (statement,) = {id(p.statement): p.statement for p in execution.CACHE.kept.values() if p is not None}.values()
    # Then its text is the same for every actor of its shape: the tenant is a parameter, not in the text
    assert world.tenant_id in statement.parameters
    assert str(world.tenant_id) not in statement.sql
