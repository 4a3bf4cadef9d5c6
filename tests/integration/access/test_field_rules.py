"""Internal-only fields: partner roles asking for them get an authorization error, never the value."""

from __future__ import annotations

import pytest

from tests.integration.graphql_client import caller_for, gid
from tests.integration.world import build_world

INTERNAL = "query($id: ID!) { node(id: $id) { ... on Opportunity { name margin internalNotes } } }"
LIST_INTERNAL = "query { opportunities(first: 10) { edges { node { name margin } } } }"


@pytest.fixture(scope="module")
async def world(sessions):  # type: ignore[no-untyped-def]
    return await build_world(sessions)


@pytest.mark.parametrize("role", ["admin", "am_east", "manager_east", "finance"])
async def test_internal_roles_read_internal_fields(role, world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    caller = await caller_for(client, sessions, world.tenant_id, world.users[role].id)
    data = await caller.data(INTERNAL, id=gid("Opportunity", world.opportunities["O3"].id))
    assert data["node"] == {"name": "O3", "margin": "0.3000", "internalNotes": "internal O3"}


@pytest.mark.parametrize("role", ["d1_admin", "d1_manager", "r1a_admin", "r1a_sales"])
async def test_partner_roles_get_forbidden_not_the_value(role, world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    caller = await caller_for(client, sessions, world.tenant_id, world.users[role].id)
    body = await caller(INTERNAL, id=gid("Opportunity", world.opportunities["O3"].id))
    # The record itself is visible, the internal fields are refused with FORBIDDEN and come back null
    assert body["data"]["node"] == {"name": "O3", "margin": None, "internalNotes": None}
    assert sorted(e["path"][-1] for e in body["errors"]) == ["internalNotes", "margin"]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert "0.3" not in str(body) and "internal O3" not in str(body)


async def test_partner_list_with_internal_field_leaks_nothing(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    caller = await caller_for(client, sessions, world.tenant_id, world.users["d1_admin"].id)
    body = await caller(LIST_INTERNAL)
    assert all(e["node"]["margin"] is None for e in body["data"]["opportunities"]["edges"])
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
