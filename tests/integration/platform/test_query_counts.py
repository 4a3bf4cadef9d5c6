"""A page of opportunities with nested fields costs a fixed number of SQL statements, whatever its size."""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import event, insert

from api.graphql import app as graphql_app
from api.graphql.context import Loaders
from domain.selling.opportunities import (
    Opportunity,
    OpportunityPartner,
    OpportunityTeamMember,
    PartnerRole,
    SalesRole,
    TeamAccess,
)
from domain.selling.stages import ForecastCategory, Stage
from services.unit_of_work import Sessions
from tests.integration.graphql_client import caller_for
from tests.integration.world import World, build_world

PAGE = """
query($first: Int!) {
  opportunities(first: $first) {
    totalCount
    edges { node {
      name amount { amount currency }
      account { name owner { name } }
      owner { name organization { name } }
      team { salesRole user { name } }
      partners { role organization { name } }
      activities(first: 3) { totalCount edges { node { subject } } }
    } }
  }
}
"""

# One statement each for the actor, the page, the count, accounts, owners and team users, organizations, team,
# partners, and the nested activities page and count: 11, plus a second batch of a kind when loads of it fall
# on different event-loop ticks (12-13 seen). Without batching a page of 50 would cost hundreds.
MAX_STATEMENTS = 14


@pytest.fixture(scope="module")
async def big_world(sessions):  # type: ignore[no-untyped-def]
    """The test world plus 60 more opportunities on D1's dealer, each with a team member and two partners."""
    world = await build_world(sessions)
    opps, team, partners = [], [], []
    for i in range(60):
        oid = uuid.uuid4()
        account = world.accounts["A_east" if i % 2 else "A_west"]
        opps.append(dict(tenant_id=world.tenant_id, id=oid, account_id=account.id, name=f"Bulk {i:02d}",
                         owner_id=world.users["am_east"].id, territory_id=account.territory_id,
                         stage=Stage.PROPOSAL, amount=Decimal(1000 + i), currency="USD", close_date=date(2027, 1, 1),
                         probability=60, forecast_category=ForecastCategory.BEST_CASE))  # fmt: skip
        team.append(dict(tenant_id=world.tenant_id, id=uuid.uuid4(), opportunity_id=oid,
                         user_id=world.users["specialist"].id, sales_role=SalesRole.SOLUTION_SPECIALIST,
                         access=TeamAccess.READ))  # fmt: skip
        for org, role in (("R1a", PartnerRole.SOURCING), ("D1", PartnerRole.FULFILLING)):
            partners.append(dict(tenant_id=world.tenant_id, id=uuid.uuid4(), opportunity_id=oid,
                                 organization_id=world.orgs[org].id, role=role))  # fmt: skip
    async with sessions() as session, session.begin():
        await session.execute(insert(Opportunity), opps)
        await session.execute(insert(OpportunityTeamMember), team)
        await session.execute(insert(OpportunityPartner), partners)
    return world


async def _statements(app, caller, first: int) -> list[str]:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        data = await caller.data(PAGE, first=first)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(data["opportunities"]["edges"]) == first
    return seen


@pytest.mark.parametrize("role", ["admin", "d1_admin"])
async def test_page_of_50_costs_the_same_statements_as_a_page_of_5(role, big_world, app, client, sessions) -> None:  # type: ignore[no-untyped-def]
    caller = await caller_for(client, sessions, big_world.tenant_id, big_world.users[role].id)
    await caller.data(PAGE, first=5)  # warm the enforcer and the connection pool
    small = await _statements(app, caller, 5)
    large = await _statements(app, caller, 50)
    # Then both pages run the same kinds of statement, under one bound that does not grow with the page:
    # loaders batch per event-loop tick, so one kind may run once or twice depending on timing, never per row.
    assert _shapes(large) == _shapes(small)
    assert len(small) <= MAX_STATEMENTS, "\n".join(small)
    assert len(large) <= MAX_STATEMENTS, "\n".join(large)


def _shapes(statements: list[str]) -> set[str]:
    """Statements with their parameter lists folded, so batches of 5 and of 50 ids compare equal."""
    return {re.sub(r"(\?)(, \?)+", "?", re.sub(r"\$\d+(::\w+)?", "?", s)) for s in statements}


NARROW = "{ opportunities(first: 5) { edges { node { name owner { name } } } } }"


async def test_a_request_makes_only_the_loaders_its_query_uses(
    big_world: World, client: httpx.AsyncClient, sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the request's loaders recorded as the app makes them
    made: list[Loaders] = []

    class Recorded(Loaders):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(graphql_app, "Loaders", Recorded)
    caller = await caller_for(client, sessions, big_world.tenant_id, big_world.users["admin"].id)
    # When a page asks for deals and their owners only, and then for the wide page
    await caller.data(NARROW)
    await caller.data(PAGE, first=5)
    # Then the narrow request made the owners' loader alone, and the wide one only those its fields use
    narrow, wide = made
    assert narrow.made() == {'by_type["User"]'}
    assert wide.made() == {
        'by_type["Account"]',
        'by_type["User"]',
        'by_type["Organization"]',
        "team_by_opportunity",
        "partners_by_opportunity",
        "activities_by_opportunity",
        "count_activities_by_opportunity",
    }
