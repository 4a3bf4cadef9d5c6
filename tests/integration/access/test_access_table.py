"""Who sees and changes what: a table of roles × records, asserted on every read path and on writes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.selling.opportunities import Opportunity
from permissions.engine import CountingEnforcer, forget_kept_grants
from tests.integration.graphql_client import caller_for, gid
from tests.integration.world import USERS, build_world
from tests.reads import read_for_test

ALL_OPPS = {"O1", "O2", "O3", "O4", "O5", "O6"}
ALL_ACCOUNTS = {"A_east", "A_west", "A_r1a"}

# role key -> opportunities it may read
VISIBLE_OPPORTUNITIES = {
    "admin": ALL_OPPS,
    "director": ALL_OPPS,
    "finance": ALL_OPPS,
    "manager_east": {"O1", "O3", "O6"},  # territory East
    "am_east": {"O1", "O3", "O6"},  # own
    "am_west": {"O2", "O4", "O5"},
    "specialist": {"O1", "O2"},  # team
    "channel_mgr": {"O3", "O4", "O6"},  # the partners they manage (D1 and below), read-only
    "channel_mgr2": {"O5"},
    "d1_admin": {"O3", "O4", "O6"},  # D1 and its dealers, never D2's or direct business
    "d1_manager": {"O3", "O4", "O6"},
    "r1a_admin": {"O3"},  # own subtree only, never the sibling R1b
    "r1a_sales": {"O3"},
    "r1b_sales": {"O4"},
    "d2_admin": {"O5"},
}

# role key -> opportunities it may change
EDITABLE_OPPORTUNITIES = {
    "admin": ALL_OPPS,
    "director": ALL_OPPS,
    "finance": set(),
    "manager_east": {"O1", "O3", "O6"},
    "am_east": {"O1", "O3", "O6"},
    "am_west": {"O2", "O4", "O5"},
    "specialist": {"O2"},  # EDIT access on O2, READ on O1
    "channel_mgr": set(),
    "channel_mgr2": set(),
    "d1_admin": {"O3", "O4", "O6"},
    "d1_manager": {"O3", "O4", "O6"},
    "r1a_admin": {"O3"},
    "r1a_sales": set(),  # sees its organization's deal but neither owns it nor is on its team
    "r1b_sales": set(),
    "d2_admin": {"O5"},
}

VISIBLE_ACCOUNTS = {
    "admin": ALL_ACCOUNTS,
    "director": ALL_ACCOUNTS,
    "finance": ALL_ACCOUNTS,
    "manager_east": {"A_east"},
    "am_east": {"A_east"},
    "am_west": {"A_west", "A_r1a"},
    "specialist": {"A_east", "A_west"},
    "channel_mgr": ALL_ACCOUNTS,  # through D1's deals and R1a's managed account
    "channel_mgr2": {"A_west"},
    "d1_admin": ALL_ACCOUNTS,  # A_east via O3/O6, A_west via O4, A_r1a managed by its dealer
    "d1_manager": ALL_ACCOUNTS,
    "r1a_admin": {"A_east", "A_r1a"},
    "r1a_sales": {"A_east", "A_r1a"},
    "r1b_sales": {"A_west"},
    "d2_admin": {"A_west"},
}

ALL_ORGS = {"E", "D1", "D2", "R1a", "R1b", "R2a"}
VISIBLE_ORGANIZATIONS = {
    **{k: ALL_ORGS for k in ("admin", "director", "finance", "manager_east", "am_east", "am_west", "specialist",
                             "channel_mgr", "channel_mgr2")},
    "d1_admin": {"D1", "R1a", "R1b"},
    "d1_manager": {"D1", "R1a", "R1b"},
    "r1a_admin": {"R1a"},
    "r1a_sales": {"R1a"},
    "r1b_sales": {"R1b"},
    "d2_admin": {"D2", "R2a"},
}  # fmt: skip

assert set(VISIBLE_OPPORTUNITIES) == set(EDITABLE_OPPORTUNITIES) == set(VISIBLE_ACCOUNTS) == set(USERS)

LISTS = """
query {
  opportunities(first: 100) { totalCount edges { node { name } } }
  accounts(first: 100) { totalCount edges { node { name } } }
  organizations(first: 100) { totalCount edges { node { name } } }
}
"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Opportunity { name } ... on Account { name } } }"
RENAME = """
mutation($id: ID!, $name: String!) {
  updateOpportunity(input: {id: $id, name: $name}) { opportunity { name } errors { field code message } }
}
"""
ACCOUNT_OPPORTUNITIES = """
query($id: ID!) { node(id: $id) { ... on Account { opportunities(first: 10) { totalCount edges { node { name } } } } } }
"""


def _names(connection: dict) -> set[str]:
    return {e["node"]["name"] for e in connection["edges"]}


@pytest.fixture(scope="module")
async def world(sessions):  # type: ignore[no-untyped-def]
    return await build_world(sessions)


@pytest.mark.parametrize("role", sorted(USERS))
async def test_lists_and_counts_follow_the_table(role, world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    # Given a user of the role
    caller = await caller_for(client, sessions, world.tenant_id, world.users[role].id)
    # When they list opportunities, accounts and organizations
    data = await caller.data(LISTS)
    # Then they see exactly their rows, and every total counts exactly those rows
    assert _names(data["opportunities"]) == VISIBLE_OPPORTUNITIES[role]
    assert data["opportunities"]["totalCount"] == len(VISIBLE_OPPORTUNITIES[role])
    account_names = {a.removesuffix(" Industries") for a in _names(data["accounts"])}
    assert account_names == VISIBLE_ACCOUNTS[role]
    assert data["accounts"]["totalCount"] == len(VISIBLE_ACCOUNTS[role])
    key_of_org = {o.name: k for k, o in world.orgs.items()}
    assert {key_of_org[n] for n in _names(data["organizations"])} == VISIBLE_ORGANIZATIONS[role]
    assert data["organizations"]["totalCount"] == len(VISIBLE_ORGANIZATIONS[role])


@pytest.mark.parametrize("role", sorted(USERS))
async def test_node_lookups_follow_the_table(role, world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    caller = await caller_for(client, sessions, world.tenant_id, world.users[role].id)
    for key, opp in world.opportunities.items():
        # When the user fetches each opportunity by global id
        data = await caller.data(NODE, id=gid("Opportunity", opp.id))
        # Then a record outside their scope is simply not there
        assert (data["node"] is not None) == (key in VISIBLE_OPPORTUNITIES[role]), key
    for key, account in world.accounts.items():
        data = await caller.data(NODE, id=gid("Account", account.id))
        assert (data["node"] is not None) == (key in VISIBLE_ACCOUNTS[role]), key


@pytest.mark.parametrize("role", sorted(USERS))
async def test_nested_connections_carry_the_same_rule(role, world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    caller = await caller_for(client, sessions, world.tenant_id, world.users[role].id)
    for key, account in world.accounts.items():
        if key not in VISIBLE_ACCOUNTS[role]:
            continue
        # When the user opens a visible account's opportunities
        data = await caller.data(ACCOUNT_OPPORTUNITIES, id=gid("Account", account.id))
        nested = data["node"]["opportunities"]
        # Then only the opportunities they may see are listed and counted
        on_account = {k for k, o in world.opportunities.items() if o.account_id == account.id}
        assert _names(nested) == on_account & VISIBLE_OPPORTUNITIES[role]
        assert nested["totalCount"] == len(on_account & VISIBLE_OPPORTUNITIES[role])


@pytest.mark.parametrize("role", sorted(USERS))
async def test_updates_follow_the_table(role, world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    caller = await caller_for(client, sessions, world.tenant_id, world.users[role].id)
    for key, opp in world.opportunities.items():
        # When the user renames each opportunity
        new_name = f"{key}"  # same name: the rename itself is the probe, visibility tests rely on names
        body = await caller.data(RENAME, id=gid("Opportunity", opp.id), name=new_name)
        errors = body["updateOpportunity"]["errors"]
        # Then editable ones change, visible read-only ones are FORBIDDEN, the rest NOT_FOUND
        if key in EDITABLE_OPPORTUNITIES[role]:
            assert errors == [], (key, errors)
            assert body["updateOpportunity"]["opportunity"]["name"] == new_name
        elif key in VISIBLE_OPPORTUNITIES[role]:
            assert [e["code"] for e in errors] == ["FORBIDDEN"], key
        else:
            assert [e["code"] for e in errors] == ["NOT_FOUND"], key
            assert body["updateOpportunity"]["opportunity"] is None


async def test_refused_update_changes_nothing(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    # Given a dealer user who cannot see O5
    caller = await caller_for(client, sessions, world.tenant_id, world.users["r1a_sales"].id)
    # When they try to rename it
    body = await caller.data(RENAME, id=gid("Opportunity", world.opportunities["O5"].id), name="Hijacked")
    # Then it is not found and its row is untouched
    assert body["updateOpportunity"]["errors"][0]["code"] == "NOT_FOUND"
    async with sessions() as session:
        name = (
            await session.execute(
                read_for_test(select(Opportunity.name).where(Opportunity.id == world.opportunities["O5"].id))
            )
        ).scalar_one()
    assert name == "O5"


async def test_casbin_is_asked_a_bounded_number_of_times_per_request(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    # Given a partner user (one role) and the full nested list query
    caller = await caller_for(client, sessions, world.tenant_id, world.users["d1_admin"].id)
    await caller.data(LISTS)  # warm the tenant's enforcer
    before = CountingEnforcer.calls
    # When one request reads lists, counts and nested fields of many rows
    await caller.data(LISTS)
    # Then Casbin was asked nothing: the grants of a set of roles are kept with the tenant's enforcer
    assert CountingEnforcer.calls - before == 0
    # and grants not kept yet cost one question per role held, not one per row
    forget_kept_grants()
    before = CountingEnforcer.calls
    await caller.data(LISTS)
    assert CountingEnforcer.calls - before == len(USERS["d1_admin"][1])
