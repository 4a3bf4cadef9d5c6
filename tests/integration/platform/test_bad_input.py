"""Bad input gets an error naming the field and the problem, and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domain.audit.trail import AuditEvent
from domain.selling.opportunities import Opportunity
from tests.integration.graphql_client import caller_for, gid
from tests.integration.platform.test_mutations import CREATE_OPPORTUNITY, UPDATE_OPPORTUNITY
from tests.integration.world import build_world
from tests.reads import read_for_test

NODE = "query($id: ID!) { node(id: $id) { id } }"
LIST = "query($first: Int!, $after: String) { opportunities(first: $first, after: $after) { totalCount } }"


@pytest.fixture(scope="module")
async def world(sessions):  # type: ignore[no-untyped-def]
    return await build_world(sessions)


@pytest.fixture(scope="module")
async def other_world(sessions):  # type: ignore[no-untyped-def]
    return await build_world(sessions)


@pytest.fixture
async def admin(client, sessions, world):  # type: ignore[no-untyped-def]
    return await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)


async def _snapshot(sessions, tenant_id):  # type: ignore[no-untyped-def]
    async with sessions() as session:
        opps = (
            await session.execute(read_for_test(select(func.count()).where(Opportunity.tenant_id == tenant_id)))
        ).scalar_one()
        events = (
            await session.execute(read_for_test(select(func.count()).where(AuditEvent.tenant_id == tenant_id)))
        ).scalar_one()
    return opps, events


def _valid_input(world) -> dict:  # type: ignore[no-untyped-def]
    return {"accountId": gid("Account", world.accounts["A_east"].id), "name": "Valid", "amount": "10.00",
            "currency": "USD", "closeDate": "2027-01-01"}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"amount": "-1"}, [("amount", "OUT_OF_RANGE")]),
        ({"amount": "1.234"}, [("amount", "INVALID")]),
        ({"currency": "dollars"}, [("currency", "INVALID")]),
        ({"name": "   "}, [("name", "REQUIRED")]),
        ({"name": "x" * 201}, [("name", "TOO_LONG")]),
        ({"name": "", "amount": "-5", "currency": "US"}, [("name", "REQUIRED"), ("amount", "OUT_OF_RANGE"),
                                                          ("currency", "INVALID")]),
        ({"accountId": "not-an-id"}, [("accountId", "INVALID")]),
        ({"accountId": "T3Bwb3J0dW5pdHk6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw"}, [("accountId", "NOT_FOUND")]),
        ({"ownerId": "VXNlcjowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA"}, [("ownerId", "NOT_FOUND")]),
    ],
)  # fmt: skip
async def test_create_opportunity_rejects_bad_fields(change, expected, world, admin, sessions) -> None:  # type: ignore[no-untyped-def]
    before = await _snapshot(sessions, world.tenant_id)
    # When an admin sends a create with bad fields
    data = await admin.data(CREATE_OPPORTUNITY, input=_valid_input(world) | change)
    # Then every bad field is named with its problem and nothing is written
    errors = data["createOpportunity"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == expected
    assert all(e["message"] for e in errors)
    assert data["createOpportunity"]["opportunity"] is None
    assert await _snapshot(sessions, world.tenant_id) == before


async def test_wrong_types_are_graphql_validation_errors(world, admin, sessions) -> None:  # type: ignore[no-untyped-def]
    before = await _snapshot(sessions, world.tenant_id)
    body = await admin(CREATE_OPPORTUNITY, input=_valid_input(world) | {"amount": "lots", "closeDate": "soon"})
    assert body["data"] is None
    messages = " ".join(e["message"] for e in body["errors"])
    assert "amount" in messages and "closeDate" in messages
    assert await _snapshot(sessions, world.tenant_id) == before


async def test_another_tenants_records_are_not_found(world, other_world, admin, sessions) -> None:  # type: ignore[no-untyped-def]
    # Given an admin of one tenant and records of another tenant
    foreign_opp = gid("Opportunity", other_world.opportunities["O1"].id)
    foreign_account = gid("Account", other_world.accounts["A_east"].id)
    before = await _snapshot(sessions, other_world.tenant_id)
    # Then they cannot read, update or attach to them, and learn only "not found"
    assert (await admin.data(NODE, id=foreign_opp))["node"] is None
    data = await admin.data(UPDATE_OPPORTUNITY, input={"id": foreign_opp, "name": "Mine now"})
    assert [e["code"] for e in data["updateOpportunity"]["errors"]] == ["NOT_FOUND"]
    data = await admin.data(CREATE_OPPORTUNITY, input=_valid_input(world) | {"accountId": foreign_account})
    assert [(e["field"], e["code"]) for e in data["createOpportunity"]["errors"]] == [("accountId", "NOT_FOUND")]
    assert await _snapshot(sessions, other_world.tenant_id) == before


@pytest.mark.parametrize(("first", "code"), [(101, "OUT_OF_RANGE"), (-1, "OUT_OF_RANGE")])
async def test_page_size_is_bounded(first, code, admin) -> None:  # type: ignore[no-untyped-def]
    body = await admin(LIST, first=first)
    assert body["errors"][0]["extensions"]["code"] == code
    assert "first" in body["errors"][0]["message"]


async def test_forged_cursor_is_rejected(admin) -> None:  # type: ignore[no-untyped-def]
    body = await admin(LIST, first=5, after="bm90LWEtY3Vyc29y")
    assert body["errors"][0]["extensions"] == {"code": "INVALID", "field": "after"}


async def test_malformed_node_id_is_null(admin) -> None:  # type: ignore[no-untyped-def]
    assert (await admin.data(NODE, id="%%%"))["node"] is None
