"""A read sent with the sign-in check and the charge, in one statement (`sign_in_charge_and_read`): it runs only
for someone signed in whose every budget paid for it, and its parameters follow the check's."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from domain.access.principals import can_fold, sign_in_charge_and_read
from domain.access.usage_budgets import Budget
from domain.shared.prepared import shifted
from tests.integration.world import World

# Division by zero when it runs: a read the database must not start is one that cannot fail. `random() * 0` is
# volatile, so PostgreSQL cannot work it out while planning; it divides only when the row is made.
FAILS_WHEN_RUN = "SELECT ($1::INTEGER / floor(random() * $2::INTEGER)::INTEGER)::TEXT AS node"
ANSWERS = "SELECT json_build_object('n', $1::INTEGER, 'quoted', '$2')::TEXT AS node, $2::TEXT AS other"


async def _driver(engine: Any) -> Any:
    connection = await engine.connect()
    return connection, (await connection.get_raw_connection()).driver_connection


def _budgets(world: World, capacity: int) -> list[Budget]:
    return [Budget(f"user:{uuid.uuid4()}", capacity, 0.001), Budget(f"tenant:{uuid.uuid4()}", 1_000_000, 1.0)]


async def test_the_read_runs_only_for_someone_signed_in_whose_budgets_paid(engine: Any, world: World) -> None:
    connection, driver = await _driver(engine)
    user = world.users["r1a_sales"].id
    try:
        # Given a read that fails whenever it runs
        # When the check finds no one, then nothing is read (and nothing charged)
        nobody = await sign_in_charge_and_read(
            driver, world.tenant_id, uuid.uuid4(), None, _budgets(world, 10), 1, FAILS_WHEN_RUN, [1, 0]
        )
        assert nobody is None
        # When the person's budget cannot pay, then the charge is refused and the read did not run
        found = await sign_in_charge_and_read(
            driver, world.tenant_id, user, None, _budgets(world, 10), 50, FAILS_WHEN_RUN, [1, 0]
        )
        assert found is not None
        loaded, taken, row = found
        assert loaded.actor.user_id == user and not taken.allowed and row is None
        # When it can pay, the read runs: here it fails, as the statement it is part of
        with pytest.raises(asyncpg.DivisionByZeroError):
            await sign_in_charge_and_read(
                driver, world.tenant_id, user, None, _budgets(world, 10), 1, FAILS_WHEN_RUN, [1, 0]
            )
    finally:
        await connection.close()


async def test_the_reads_row_comes_once_with_its_parameters_after_the_checks(engine: Any, world: World) -> None:
    connection, driver = await _driver(engine)
    try:
        # Given a read with two parameters, one of them named inside a string literal too
        budgets = _budgets(world, 10)
        found = await sign_in_charge_and_read(
            driver, world.tenant_id, world.users["admin"].id, None, budgets, 1, ANSWERS, [7, "seven"]
        )
        # Then the read's row has its own values, the literal left as written, beside a charge of both budgets
        assert found is not None
        loaded, taken, row = found
        assert taken.allowed and {b.subject for b in taken.buckets} == {b.subject for b in budgets}
        assert row == ('{"n" : 7, "quoted" : "$2"}', "seven")
        assert loaded.actor.user_id == world.users["admin"].id
    finally:
        await connection.close()


def test_a_read_with_a_quote_left_open_is_not_folded() -> None:
    assert shifted("SELECT $1 || 'a''b' || $2", 3) == "SELECT $4 || 'a''b' || $5"
    assert shifted("SELECT $1 || 'open", 3) is None
    assert not can_fold("SELECT $1 || 'open")
    assert can_fold(ANSWERS)
