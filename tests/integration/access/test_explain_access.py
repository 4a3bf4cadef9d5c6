"""explainAccess: why a user can or cannot see or edit a record, agreeing with what they are shown."""

from __future__ import annotations

import pytest

from tests.integration.access.test_access_table import EDITABLE_OPPORTUNITIES, VISIBLE_OPPORTUNITIES
from tests.integration.graphql_client import caller_for, gid
from tests.integration.world import build_world

EXPLAIN = """
query($record: ID!, $user: ID) {
  explainAccess(recordId: $record, userId: $user) {
    user { email } canRead canEdit canReadInternalFields summary reasons { action role grantedVia scope detail }
  }
}
"""


@pytest.fixture(scope="module")
async def world(sessions):  # type: ignore[no-untyped-def]
    return await build_world(sessions)


@pytest.fixture
async def admin(client, sessions, world):  # type: ignore[no-untyped-def]
    return await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)


@pytest.mark.parametrize("role", sorted(VISIBLE_OPPORTUNITIES))
async def test_explanations_agree_with_the_access_table(role, world, admin) -> None:  # type: ignore[no-untyped-def]
    for key, opp in world.opportunities.items():
        data = await admin.data(EXPLAIN, record=gid("Opportunity", opp.id), user=gid("User", world.users[role].id))
        explained = data["explainAccess"]
        assert explained["canRead"] is (key in VISIBLE_OPPORTUNITIES[role]), (role, key)
        assert explained["canEdit"] is (key in EDITABLE_OPPORTUNITIES[role]), (role, key)
        assert bool(explained["reasons"]) is explained["canRead"]


async def test_reasons_name_the_role_scope_and_link(world, admin) -> None:  # type: ignore[no-untyped-def]
    o1, o3 = gid("Opportunity", world.opportunities["O1"].id), gid("Opportunity", world.opportunities["O3"].id)
    specialist = (await admin.data(EXPLAIN, record=o1, user=gid("User", world.users["specialist"].id)))["explainAccess"]
    assert specialist["canRead"] and not specialist["canEdit"]
    assert {(r["action"], r["role"], r["grantedVia"], r["scope"]) for r in specialist["reasons"]} == {
        ("READ", "solution_specialist", "sales_specialist", "team")
    }
    assert specialist["reasons"][0]["detail"] == "is on its team as solution_specialist with read access"
    assert specialist["summary"].startswith("Can see it but not edit it")
    distributor = (await admin.data(EXPLAIN, record=o3, user=gid("User", world.users["d1_admin"].id)))["explainAccess"]
    org_tree = [r for r in distributor["reasons"] if r["scope"] == "org_tree" and r["action"] == "READ"]
    assert (org_tree[0]["role"], org_tree[0]["grantedVia"]) == ("partner_admin", "partner_manager")
    assert org_tree[0]["detail"] == f"an organization in their subtree is linked: {world.orgs['R1a'].name} (sourcing)"
    assert distributor["canReadInternalFields"] is False
    manager = (await admin.data(EXPLAIN, record=o3, user=gid("User", world.users["manager_east"].id)))["explainAccess"]
    assert ("READ", "sales_manager", "territory", "it lies in their territory East") in {
        (r["action"], r["role"], r["scope"], r["detail"]) for r in manager["reasons"]
    }


async def test_who_may_ask(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    o3 = gid("Opportunity", world.opportunities["O3"].id)
    dealer = await caller_for(client, sessions, world.tenant_id, world.users["r1a_sales"].id)
    # Anyone may ask about their own access to a record they see
    own = (await dealer.data(EXPLAIN, record=o3))["explainAccess"]
    assert own["user"]["email"] == world.users["r1a_sales"].email and own["canRead"] and not own["canEdit"]
    # Not about someone else's, and not about a record they cannot see (it is simply not found)
    body = await dealer(EXPLAIN, record=o3, user=gid("User", world.users["d1_admin"].id))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await dealer(EXPLAIN, record=gid("Opportunity", world.opportunities["O5"].id))
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "recordId"}
