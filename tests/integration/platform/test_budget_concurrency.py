"""Many requests of one tenant at once: their charges and their connections do not queue behind one another.

Every request of a tenant charges the tenant's budget row. A charge alone in its transaction (every request's
is) commits without waiting for the WAL flush, so the row's lock is held for the statement alone; a charge inside
a caller's transaction leaves that transaction as durable as it was. Racing charges still never take more than
the budget holds. The engine's pool keeps the connections a burst opened, so a steady load above the pool's
base size does not open and close server processes all the time.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from domain.access import usage_budgets
from domain.access.usage_budgets import CHARGE, DURABLE_CHARGE, TENANT_SUBJECT, Budget, charge, user_subject
from infrastructure.db import connect_raw, create_engine
from tests.integration.world import build_world


async def test_a_charge_alone_commits_without_waiting_for_the_flush_and_the_setting_ends_with_it(
    database_url: str, sessions: Any
) -> None:
    world = await build_world(sessions)
    budgets = [Budget(user_subject(world.users["am_east"].id), 1_000, 1), Budget(TENANT_SUBJECT, 10_000, 1)]
    connection = await connect_raw(database_url)
    try:
        # Given the charge's own statement in a transaction we can look into
        async with connection.transaction():
            await connection.fetch(
                CHARGE.sql,
                *CHARGE.arguments(
                    {
                        "tenant_id": world.tenant_id,
                        "cost": 3,
                        "subjects": sorted(b.subject for b in budgets),
                        "capacities": [10_000.0, 1_000.0],
                        "refills": [1.0, 1.0],
                    }
                ),
            )
            # Then the statement turned synchronous commit off for that transaction
            assert await connection.fetchval("SHOW synchronous_commit") == "off"
        # When the charge runs alone, as a request's does (no transaction around it)
        taken = await charge(connection, world.tenant_id, budgets, 5)
        assert taken.allowed
        # Then the next statement on the connection (a mutation's) commits durably again
        assert await connection.fetchval("SHOW synchronous_commit") == "on"
    finally:
        await connection.close()


async def test_a_charge_inside_a_transaction_leaves_its_commit_durable(
    database_url: str, sessions: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await build_world(sessions)
    budgets = [Budget(user_subject(world.users["am_west"].id), 1_000, 1), Budget(TENANT_SUBJECT, 10_000, 1)]
    connection = await connect_raw(database_url)
    try:
        # Given a caller's transaction that may hold other work
        async with connection.transaction():
            taken = await charge(connection, world.tenant_id, budgets, 5)
            # Then the charge inside it changes nothing about how it commits
            assert taken.allowed
            assert await connection.fetchval("SHOW synchronous_commit") == "on"
        # And a session whose transaction has begun gets the durable statement, which its commit then commits
        chosen: list[Any] = []
        real_fetch = usage_budgets.fetch

        async def fetch(on: Any, prepared: Any, parameters: Any) -> Any:
            chosen.append(prepared)
            return await real_fetch(on, prepared, parameters)

        monkeypatch.setattr(usage_budgets, "fetch", fetch)
        async with sessions() as session:
            await session.execute(text("SELECT 1"))
            assert (await charge(session, world.tenant_id, budgets, 5)).allowed
        async with sessions() as session:  # one with nothing begun is alone in its transaction
            assert (await charge(session, world.tenant_id, budgets, 5)).allowed
        assert chosen == [DURABLE_CHARGE, CHARGE]
    finally:
        await connection.close()


async def test_sixteen_requests_of_one_person_racing_on_their_own_connections_take_only_what_is_there(
    database_url: str, sessions: Any
) -> None:
    world = await build_world(sessions)
    person = world.users["am_east"].id
    # A budget of 11 points that barely refills, and the tenant's, which is ample
    budgets = [Budget(user_subject(person), 11, 0.0001), Budget(TENANT_SUBJECT, 1_000_000, 1)]
    connections = [await connect_raw(database_url) for _ in range(16)]
    try:
        assert (await charge(connections[0], world.tenant_id, budgets, 1)).allowed  # the rows exist: 10 left
        # When sixteen requests charge one point each at the same moment, each on its own connection
        outcomes = await asyncio.gather(*(charge(c, world.tenant_id, budgets, 1) for c in connections))
        # Then exactly ten pass and the rest are refused, and the budget is not overdrawn
        assert [o.allowed for o in outcomes].count(True) == 10
        after = await charge(connections[0], world.tenant_id, budgets, 1)
        assert not after.allowed
        person_bucket = next(b for b in after.buckets if b.subject == user_subject(person))
        assert 0 <= person_bucket.level < 1
    finally:
        for connection in connections:
            await connection.close()


async def test_the_pool_keeps_the_connections_a_burst_opened(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=2)
    try:

        async def backend_of() -> int:
            async with engine.connect() as connection:
                pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                await asyncio.sleep(0.05)  # held long enough for the others of the burst to check out theirs
                return int(pid)

        # Given a burst of four at once on a pool of two (it may open as many again)
        first = set(await asyncio.gather(*(backend_of() for _ in range(4))))
        assert len(first) == 4
        # When the same burst comes again
        second = set(await asyncio.gather(*(backend_of() for _ in range(4))))
        # Then it is served by the same server processes: none was closed and opened again
        assert second == first
        assert engine.pool.checkedin() == 4  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


async def test_charges_of_several_tenants_at_once_are_each_their_own(database_url: str, sessions: Any) -> None:
    worlds = [await build_world(sessions) for _ in range(2)]
    connections = [await connect_raw(database_url) for _ in range(8)]
    try:

        async def take(n: int) -> tuple[uuid.UUID, bool]:
            world = worlds[n % 2]
            budgets = [Budget(user_subject(world.users["admin"].id), 1_000, 1), Budget(TENANT_SUBJECT, 4, 0.0001)]
            return world.tenant_id, (await charge(connections[n], world.tenant_id, budgets, 1)).allowed

        # When eight requests of two tenants whose budgets hold four points each charge at once
        outcomes = await asyncio.gather(*(take(n) for n in range(8)))
        # Then each tenant's four pass: one tenant's charges neither take nor wait for the other's points
        for world in worlds:
            assert sum(1 for tenant, allowed in outcomes if tenant == world.tenant_id and allowed) == 4
    finally:
        for connection in connections:
            await connection.close()
