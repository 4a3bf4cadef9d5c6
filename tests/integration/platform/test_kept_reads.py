"""Kept reads: a request for an operation compiled before is answered ahead of strawberry's pipeline, and
answers exactly as the pipeline did, charges the budget as it does, and sees the data as it is now.

The suite's other tests run in check mode (the compiled answer compared with the resolvers'), where nothing is
answered ahead of the pipeline; here the service runs as it does by default (`CRM_COMPILED_READS=on`).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select, update

from api.auth.signed_in import SIGNED_IN
from api.graphql.compiled import execution, kept
from domain.access.usage_budgets import UsageBucket
from domain.identity.users import User
from domain.selling.opportunities import Opportunity
from tests.integration.graphql_client import Caller, caller_for, gid
from tests.integration.platform.conftest import PERSONAS, deactivated, post_as
from tests.integration.platform.test_query_cost import limited_client
from tests.integration.platform.test_statement_counts import (
    DEAL,
    FORECAST,
    HOME,
    LIST,
    TRANSACTION_CONTROL,
    PeakConnections,
)
from tests.integration.world import World, build_world
from tests.statement_counts import statements_sent

QUERIES: dict[str, tuple[str, Callable[[World], dict[str, object]]]] = {
    "opportunity list": (LIST, lambda w: {"first": 50}),
    "deal page": (DEAL, lambda w: {"id": gid("Opportunity", w.opportunities["O3"].id)}),
    "partner home": (HOME, lambda w: {"expiresBefore": "2030-01-01T00:00:00Z"}),
    "forecast": (FORECAST, lambda w: {"start": "2027-01-01", "end": "2027-06-30"}),
}
# What the pipeline and a kept read may answer differently: the request's id, and the budget, which moves.
PER_REQUEST = {"x-request-id", "ratelimit-remaining", "ratelimit-reset", "content-length"}


@pytest.fixture(scope="module")
async def world(sessions) -> World:  # type: ignore[no-untyped-def]
    return await build_world(sessions)


@pytest.fixture(autouse=True)
def compiled_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_COMPILED_READS", "on")


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", QUERIES)
async def test_a_kept_read_answers_byte_for_byte_as_the_pipeline_did(
    name: str, persona: str, accept: str, callers: dict[str, Caller], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    query, variables = QUERIES[name][0], QUERIES[name][1](world)
    caller = callers[persona]
    execution.CACHE.kept.clear()
    # Given the answer of the pipeline, which compiles and keeps the operation, and the resolvers' answer
    monkeypatch.setenv("CRM_COMPILED_READS", "off")
    resolved = await post_as(caller, query, variables, accept=accept)
    monkeypatch.setenv("CRM_COMPILED_READS", "on")
    before = kept.kept_answers
    first = await post_as(caller, query, variables, accept=accept)
    assert kept.kept_answers == before, "the first request of an operation goes through the pipeline"
    # When the same request comes again
    again = await post_as(caller, query, variables, accept=accept)
    # Then it is answered ahead of the pipeline, with the same status, headers and bytes
    assert kept.kept_answers == before + 1
    assert again.status_code == first.status_code == 200
    assert again.content == first.content
    assert {k: v for k, v in again.headers.items() if k not in PER_REQUEST} == {
        k: v for k, v in first.headers.items() if k not in PER_REQUEST
    }
    assert "ratelimit-remaining" in again.headers
    # And it is what the resolvers answer
    assert again.json() == resolved.json()


async def test_an_operation_named_or_not_is_the_same_kept_read(callers: dict[str, Caller], world: World) -> None:
    caller = callers["distributor"]
    variables = {"start": "2027-01-01", "end": "2027-06-30"}
    # Given a forecast kept from a request that named its operation
    named = await caller.client.post(
        "/graphql",
        json={"query": FORECAST, "variables": variables, "operationName": "Forecast"},
        headers={"Authorization": f"Bearer {caller.token}"},
    )
    before = kept.kept_answers
    # When the same document comes without the name, and then with it
    unnamed = await post_as(caller, FORECAST, variables)
    again = await caller.client.post(
        "/graphql",
        json={"query": FORECAST, "variables": variables, "operationName": "Forecast"},
        headers={"Authorization": f"Bearer {caller.token}"},
    )
    # Then both are the kept read
    assert kept.kept_answers == before + 2
    assert unnamed.content == again.content == named.content


async def test_a_kept_read_sees_the_records_as_they_are_now(callers: dict[str, Caller], world: World, sessions) -> None:  # type: ignore[no-untyped-def]
    caller = callers["dealer"]
    query, variables = QUERIES["deal page"][0], QUERIES["deal page"][1](world)
    deal = world.opportunities["O3"]
    await caller.data(query, **variables)
    before = kept.kept_answers
    # Given a kept deal page, when the deal is renamed
    async with sessions() as session, session.begin():
        await session.execute(update(Opportunity).where(Opportunity.id == deal.id).values(name="Renamed for kept"))
    try:
        renamed = await caller.data(query, **variables)
    finally:
        async with sessions() as session, session.begin():
            await session.execute(update(Opportunity).where(Opportunity.id == deal.id).values(name=deal.name))
    # Then the kept read answers the new name
    assert kept.kept_answers == before + 1
    assert renamed["node"]["name"] == "Renamed for kept"


async def test_each_actor_has_its_own_kept_reads(callers: dict[str, Caller], world: World) -> None:
    query, variables = QUERIES["opportunity list"][0], {"first": 7}
    # Given the admin's list kept
    admin = await callers["admin"].data(query, **variables)
    await callers["admin"].data(query, **variables)
    before = kept.kept_answers
    # When the dealer asks the same
    dealer = await callers["dealer"].data(query, **variables)
    # Then the pipeline answers the dealer (a statement of its own, under its own rules), with its own deals
    assert kept.kept_answers == before
    assert dealer["opportunities"]["totalCount"] < admin["opportunities"]["totalCount"]


async def test_a_kept_read_is_two_statements_on_one_connection(app, callers: dict[str, Caller], world: World) -> None:  # type: ignore[no-untyped-def]
    query, variables = QUERIES["deal page"][0], QUERIES["deal page"][1](world)
    caller = callers["distributor"]
    await caller.data(query, **variables)
    before = kept.kept_answers
    # When a kept deal page is asked for again in the same session
    async with PeakConnections(app) as peak, statements_sent() as sent:
        data = await caller.data(query, **variables)
    # Then the sign-in check with the charge, and the read, share one connection, with nothing around them
    assert kept.kept_answers == before + 1
    assert peak.peak == 1
    steady = sent.steady()
    assert len(steady) == 2, str(sent)
    assert not TRANSACTION_CONTROL & set(sent.kinds()), str(sent)
    assert "app_user" in steady[0] and "INSERT INTO usage_bucket" in steady[0]
    # the charge is all the check writes: it commits without waiting for the WAL flush (usage_budgets.charge)
    assert "set_config" in steady[0]
    assert "json_build_object" in steady[1]
    assert data["node"] is not None


async def test_a_sessions_first_request_is_checked_by_itself(app, callers: dict[str, Caller], world: World) -> None:  # type: ignore[no-untyped-def]
    query, variables = QUERIES["deal page"][0], QUERIES["deal page"][1](world)
    caller = callers["dealer"]
    await caller.data(query, **variables)  # kept
    SIGNED_IN.clear()  # as a process that has not seen the session (restarted, or another worker)
    # When the kept read is asked for by a session this process has not signed in
    async with statements_sent() as sent:
        data = await caller.data(query, **variables)
    # Then the sign-in check runs alone, then the charge, then the read
    steady = sent.steady()
    assert len(steady) == 3, str(sent)
    assert "app_user" in steady[0] and "usage_bucket" not in steady[0]
    assert "usage_bucket" in steady[1] and "json_build_object" in steady[2]
    assert data["node"] is not None


async def test_a_deactivated_person_is_refused_a_kept_read(callers: dict[str, Caller], world: World, sessions) -> None:  # type: ignore[no-untyped-def]
    caller = await caller_for(callers["admin"].client, sessions, world.tenant_id, world.users["r1a_sales"].id)
    query, variables = QUERIES["opportunity list"][0], {"first": 3}
    await caller.data(query, **variables)
    # Given a kept list, when its person is deactivated
    async with deactivated(sessions, world.users["r1a_sales"].id):
        charged_before = await _charged(sessions, world, "r1a_sales")
        before = kept.kept_answers
        refused = await post_as(caller, query, variables)
    # Then the token signs no one in, kept read or not, and the check that refused it charged nothing
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert kept.kept_answers == before
    assert await _charged(sessions, world, "r1a_sales") == charged_before


async def _charged(sessions, world: World, key: str) -> tuple[object, ...] | None:  # type: ignore[no-untyped-def]
    """The person's budget row as it stands: its level and when it was last charged."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(UsageBucket.level, UsageBucket.updated_at).where(
                    UsageBucket.tenant_id == world.tenant_id, UsageBucket.subject == f"user:{world.users[key].id}"
                )
            )
        ).one_or_none()
    return None if row is None else tuple(row)


async def test_a_person_changed_since_their_last_request_is_answered_as_they_now_are(
    database_url, tmp_path, world: World, sessions, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    query, variables = QUERIES["opportunity list"][0], {"first": 10}
    person = world.users["r1b_sales"].id
    # Two charges are compared with each other: a budget that barely refills keeps either gap from paying one back
    async with limited_client(
        sessions, database_url, tmp_path, user_budget=20_000, user_refill_per_second=0.001
    ) as http:
        caller = await caller_for(http, sessions, world.tenant_id, person)
        first = await post_as(caller, query, variables)
        answered = kept.kept_answers
        again = await post_as(caller, query, variables)
        assert kept.kept_answers == answered + 1  # kept, and the session known
        cost = int(first.headers["ratelimit-remaining"]) - int(again.headers["ratelimit-remaining"])
        assert cost > 1
        # Given the person moved from the dealer R1b to its distributor D1 since
        async with sessions() as session, session.begin():
            await session.execute(update(User).where(User.id == person).values(organization_id=world.orgs["D1"].id))
        try:
            before = kept.kept_answers
            moved = await post_as(caller, query, variables)
            monkeypatch.setenv("CRM_COMPILED_READS", "off")
            by_pipeline = await post_as(caller, query, variables)
        finally:
            async with sessions() as session, session.begin():
                await session.execute(
                    update(User).where(User.id == person).values(organization_id=world.orgs["R1b"].id)
                )
    # Then the kept plan of the person as they were is not used: the answer is theirs as they now are
    assert moved.status_code == 200 and kept.kept_answers == before
    assert moved.json()["data"] == by_pipeline.json()["data"] != first.json()["data"]
    # And it was charged once, by the check that found them changed: the pipeline took no more
    spent = int(again.headers["ratelimit-remaining"]) - int(moved.headers["ratelimit-remaining"])
    assert spent == cost
    assert int(moved.headers["ratelimit-remaining"]) - int(by_pipeline.headers["ratelimit-remaining"]) == cost


async def test_a_kept_read_is_charged_and_refused_as_the_pipeline_refuses(
    database_url, tmp_path, world, sessions, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    query, variables = LIST, {"first": 50}
    async with limited_client(sessions, database_url, tmp_path, user_budget=20_000, user_refill_per_second=1) as http:
        caller = await caller_for(http, sessions, world.tenant_id, world.users["director"].id)
        first = await post_as(caller, query, variables)
        cost = int(first.headers["ratelimit-limit"]) - int(first.headers["ratelimit-remaining"])
        assert cost > 1
        before = kept.kept_answers
        # Given a kept list, when it is asked for again
        again = await post_as(caller, query, variables)
        # Then it costs what the pipeline charged
        assert kept.kept_answers == before + 1
        spent = int(first.headers["ratelimit-remaining"]) - int(again.headers["ratelimit-remaining"])
        assert cost - 1 <= spent <= cost  # a point may refill in between
        # And once the budget cannot pay for it, it is refused as the pipeline refuses it
        while (answer := await post_as(caller, query, variables)).status_code == 200:
            pass
        assert kept.kept_answers > before + 1
        monkeypatch.setenv("CRM_COMPILED_READS", "off")
        by_pipeline = await post_as(caller, query, variables)
        assert answer.status_code == by_pipeline.status_code == 429
        assert answer.headers["retry-after"] and by_pipeline.headers["retry-after"]
        (mine,), (theirs,) = answer.json()["errors"], by_pipeline.json()["errors"]
        assert mine["extensions"]["code"] == theirs["extensions"]["code"] == "RATE_LIMITED"
        assert set(mine) == set(theirs) and set(mine["extensions"]) == set(theirs["extensions"])
        assert answer.json().keys() == by_pipeline.json().keys()


async def test_get_and_check_mode_go_through_the_pipeline(
    callers: dict[str, Caller], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = callers["admin"]
    query, variables = QUERIES["forecast"][0], QUERIES["forecast"][1](world)
    await caller.data(query, **variables)
    before = kept.kept_answers
    # A query sent as GET
    params = {"query": query, "variables": '{"start": "2027-01-01", "end": "2027-06-30"}'}
    got = await caller.client.get("/graphql", params=params, headers={"Authorization": f"Bearer {caller.token}"})
    assert got.status_code == 200 and got.json()["data"]["forecast"]
    # And any request while the compiled reads are being checked against the resolvers
    monkeypatch.setenv("CRM_COMPILED_READS", "check")
    await caller.data(query, **variables)
    assert kept.kept_answers == before


async def test_a_statement_of_a_partners_size_stays_prepared_on_its_connection(app) -> None:  # type: ignore[no-untyped-def]
    # Given a statement as long as a partner's compiled deal page (16-23 KiB of row rules), run twice on the driver
    padding = " OR ".join(f"x = {n}" for n in range(3000))
    sql = "SELECT count(*) FROM (SELECT $1::int AS x) AS t WHERE " + padding  # noqa: S608 - numbers written here
    assert len(sql) > 20 * 1024
    async with app.state.engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert await driver.fetchval(sql, 7) == await driver.fetchval(sql, 7) == 1
        # Then PostgreSQL parsed it once and keeps it prepared for the next run
        kept_prepared = await driver.fetchval("SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", sql)
    assert kept_prepared == 1
