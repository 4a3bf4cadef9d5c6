"""A read rule left out because its parent's rule proves it: each declared proof holds, and is used only when it
holds for the caller's grants.

A compiled read leaves out the rule of a record reached from a parent read under its own rule (the account of a
deal, a deal's timeline) when permissions/scopes.py `IMPLIED_READS` says the parent's rule, scope by scope,
already proves it. These tests check each declaration against the access table's records, for every person of
it, in every scope it names; the compiled answers themselves are compared with the resolvers' for every role by
tests/integration/platform/test_compiled_reads.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import and_, func, select, true

from domain.access.actor import Action, Actor, ActorKind, Resource
from domain.access.principals import load_user_actor
from domain.selling.accounts import Account
from domain.selling.activities import Activity
from domain.selling.opportunities import Opportunity
from permissions.defaults import Scope
from permissions.engine import access_for
from permissions.scopes import IMPLIED_READS, implied_read, rows_predicate, tenant_rows
from tests.integration.graphql_client import caller_for, gid
from tests.integration.world import USERS, World
from tests.reads import read_for_test

# Each declaration's link, as the join of the parent's table to the child's.
JOINS: dict[tuple[Resource, Resource, str], tuple[type, type, Any]] = {
    (Resource.ACCOUNT, Resource.OPPORTUNITY, "opportunity.account_id"): (
        Opportunity, Account, and_(Account.tenant_id == Opportunity.tenant_id, Account.id == Opportunity.account_id)
    ),
    (Resource.ACTIVITY, Resource.OPPORTUNITY, "activity.opportunity_id"): (
        Opportunity, Activity,
        and_(Activity.tenant_id == Opportunity.tenant_id, Activity.opportunity_id == Opportunity.id),
    ),
}  # fmt: skip

LOG = """
mutation Log($deal: ID!) { logActivity(input: {opportunityId: $deal, kind: CALL, subject: "Call"}) { errors { message } } }
"""

# person -> child -> (read by the tenant's rule alone, read by its whole rule) under the default policy
TENANT_WIDE = {"admin", "director", "finance"}  # their rule is the tenant's either way
# A sales manager reads deals by territory, and an account has a territory of its own: the account's rule stays.
EXPECTED: dict[str, dict[Resource, tuple[bool, bool]]] = {
    key: {
        Resource.ACCOUNT: (True, True) if key in TENANT_WIDE else (key != "manager_east", key == "manager_east"),
        Resource.ACTIVITY: (True, True) if key in TENANT_WIDE else (True, False),
    }
    for key in USERS
}


async def _with_timelines(client, sessions, world: World) -> None:  # type: ignore[no-untyped-def]
    admin = await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)
    for opportunity in world.opportunities.values():
        logged = await admin.data(LOG, deal=gid("Opportunity", opportunity.id))
        assert not logged["logActivity"]["errors"]


def test_every_declaration_has_a_join_to_check_it_by() -> None:
    assert set(IMPLIED_READS) == set(JOINS)


async def test_each_declared_scope_proves_the_childs_rule_for_every_person_of_the_access_table(
    client, sessions, world: World
) -> None:  # type: ignore[no-untyped-def]
    # Given the access table's world, every deal with an activity on it
    await _with_timelines(client, sessions, world)
    reached: dict[tuple[tuple[Resource, Resource, str], Scope], int] = {}
    async with sessions() as session:
        for key, user in world.users.items():
            loaded = await load_user_actor(session, world.tenant_id, user.id)
            assert loaded is not None, key
            actor = loaded.actor
            for declared, scopes in IMPLIED_READS.items():
                child, parent, _ = declared
                parent_model, child_model, join = JOINS[declared]
                for scope in scopes:
                    parent_in = rows_predicate(parent, frozenset({scope}), actor, Action.READ)
                    child_in = rows_predicate(child, frozenset({scope}), actor, Action.READ)
                    pairs = select(func.count()).select_from(parent_model).join(child_model, join).where(parent_in)
                    # Then no child reached from a parent in the scope is outside the scope
                    outside = await session.scalar(
                        read_for_test(pairs.where(child_in.is_not(true())))
                    )  # NULL is outside
                    assert outside == 0, (key, declared, scope)
                    count = await session.scalar(read_for_test(pairs))
                    reached[(declared, scope)] = reached.get((declared, scope), 0) + (count or 0)
    # And each declared scope was put to the test by someone: some child was reached from a parent in it
    assert {k for k, n in reached.items() if n == 0} == set()


@pytest.mark.parametrize("key", sorted(USERS))
async def test_a_rule_is_left_out_only_where_the_callers_grants_prove_it(sessions, world: World, key: str) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        loaded = await load_user_actor(session, world.tenant_id, world.users[key].id)
        assert loaded is not None
        access = await access_for(session, loaded.actor, loaded.policy_version)
    for declared in IMPLIED_READS:
        child = declared[0]
        reached = str(access.rows_reached(*declared).compile())
        left_out = reached == str(tenant_rows(child, loaded.actor).compile())
        whole = reached == str(access.rows(child).compile())
        assert (left_out, whole) == EXPECTED[key][child], (key, child)


def test_a_parent_scope_the_child_is_not_granted_in_proves_nothing() -> None:
    actor = Actor(
        tenant_id=uuid.uuid4(), kind=ActorKind.USER, roles=frozenset(), user_id=uuid.uuid4(),
        organization_id=uuid.uuid4(), organization_path="//a//", is_partner=True,
    )  # fmt: skip
    link = (Resource.ACCOUNT, Resource.OPPORTUNITY, "opportunity.account_id")
    grants = {Resource.OPPORTUNITY: frozenset({Scope.ORG_TREE}), Resource.ACCOUNT: frozenset({Scope.OWN})}
    assert not implied_read(*link, lambda r: grants.get(r, frozenset()), actor)
    grants[Resource.ACCOUNT] = frozenset({Scope.OWN, Scope.ORG_TREE})
    assert implied_read(*link, lambda r: grants.get(r, frozenset()), actor)
    # ORG beside ORG_TREE adds no row to the deal's rule, so it needs no grant on the child
    grants[Resource.OPPORTUNITY] = frozenset({Scope.ORG, Scope.ORG_TREE})
    assert implied_read(*link, lambda r: grants.get(r, frozenset()), actor)
    grants[Resource.OPPORTUNITY] = frozenset({Scope.ORG_TREE, Scope.TERRITORY})
    grants[Resource.ACCOUNT] = frozenset({Scope.ORG_TREE, Scope.TERRITORY})
    assert not implied_read(*link, lambda r: grants.get(r, frozenset()), actor)
    assert not implied_read(*link, lambda r: frozenset(), actor)
    assert not implied_read(Resource.CONTACT, Resource.ACCOUNT, "contact.account_id", lambda r: grants[r], actor)
