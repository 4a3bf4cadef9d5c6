"""One door to protected rows: a protected model selected outside a unit of work is refused, whatever the query.

Given the app's own session factory (whose sessions carry the door's guard), a plain select of a protected model,
a column select and `session.get` are refused with UnguardedRead; the unit of work's reads (`visible`, `get`,
`load`, the batched children reads), a named system access and a statement marked as reading across tenants
pass, and they answer exactly the rows the actor may see. The request's loaders are made only when first used.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from api.graphql.context import DEPENDENT_NODE_MODELS, NODE_MODELS, Loaders
from domain.access.actor import Action, Actor, ActorKind, Resource
from domain.access.unit_of_work import (
    PROTECTED,
    Protected,
    SystemAccess,
    UnguardedRead,
    UnitOfWork,
    across_tenants,
    guard_protected_reads,
    system_unit_of_work,
)
from domain.channel.organizations import OrganizationKind
from domain.selling.contacts import Contact
from domain.selling.opportunities import Opportunity, OpportunityTeamMember
from domain.shared.errors import Forbidden, NotFound
from permissions.engine import PolicyAccess, access_for
from permissions.scopes import PREDICATES
from services.unit_of_work import reading
from tests.integration.world import World

# Resources whose rows are the table of another resource's model (a deal's owner is a column of the deal).
RESOURCES_OF_ANOTHER_TABLE = {
    Resource.OPPORTUNITY_OWNER: Resource.OPPORTUNITY,
    Resource.OPPORTUNITY_TEAM: Resource.USER,
    Resource.OPPORTUNITY_PARTNER: Resource.ORGANIZATION,
}
ALL_PROTECTED = sorted(PROTECTED.values(), key=lambda model: model.__name__)


@pytest.fixture(autouse=True)
def guard() -> Iterator[None]:
    """The guard refuses, whatever mode the environment asks the rest of the suite for."""
    guard_protected_reads("raise")
    yield
    guard_protected_reads()


def _ids(world: World, *keys: str) -> set[uuid.UUID]:
    return {world.opportunities[k].id for k in keys}


async def _access_of(session: AsyncSession, world: World, key: str) -> PolicyAccess:
    """The access of a world user, as a request of theirs would have it."""
    user = world.users[key]
    org = next(o for o in world.orgs.values() if o.id == user.organization_id)
    territory = next((t for t in world.territories.values() if t.id == user.territory_id), None)
    actor = Actor(
        tenant_id=world.tenant_id,
        kind=ActorKind.USER,
        roles=frozenset(user.roles),
        user_id=user.id,
        organization_id=org.id,
        organization_path=org.path,
        territory_id=user.territory_id,
        territory_path=territory.path if territory else None,
        is_partner=org.kind is not OrganizationKind.ENTERPRISE,
    )
    return await access_for(session, actor)


# --- Outside the door: refused ---


async def test_a_plain_select_of_a_protected_model_is_refused(app: Starlette, world: World) -> None:
    async with app.state.sessions() as session:
        with pytest.raises(UnguardedRead, match="Opportunity was selected outside the door"):
            await session.execute(select(Opportunity).where(Opportunity.tenant_id == world.tenant_id))


async def test_a_column_select_and_a_count_are_refused_too(app: Starlette, world: World) -> None:
    async with app.state.sessions() as session:
        with pytest.raises(UnguardedRead):
            await session.execute(select(Opportunity.id).where(Opportunity.tenant_id == world.tenant_id))
        with pytest.raises(UnguardedRead):
            await session.scalar(select(func.count(Opportunity.id)).where(Opportunity.tenant_id == world.tenant_id))
        with pytest.raises(UnguardedRead):  # no entity column: the statement names the table only
            await session.scalar(select(func.count()).select_from(Opportunity))
        with pytest.raises(UnguardedRead):
            await session.scalar(
                select(func.count())
                .select_from(OpportunityTeamMember)
                .join(Opportunity, Opportunity.id == OpportunityTeamMember.opportunity_id)
            )


async def test_session_get_of_a_protected_model_is_refused(app: Starlette, world: World) -> None:
    async with app.state.sessions() as session:
        with pytest.raises(UnguardedRead):
            await session.get(Opportunity, (world.tenant_id, world.opportunities["O1"].id))


@pytest.mark.parametrize("model", ALL_PROTECTED, ids=lambda model: model.__name__)
async def test_every_protected_model_is_refused_outside_the_door_and_read_through_it(
    app: Starlette, world: World, model: type[Any]
) -> None:
    async with app.state.sessions() as session:
        with pytest.raises(UnguardedRead, match=model.__name__):
            await session.execute(select(model).limit(1))
        with pytest.raises(UnguardedRead, match=model.__name__):
            await session.execute(select(model.id).limit(1))
        # Through a system access over the tenant, and marked as reading across tenants, the same reads pass.
        system = system_unit_of_work(session, world.tenant_id, "the door's test")
        rows = (await session.execute(system.visible(model).limit(50))).scalars().all()
        assert all(r.tenant_id == world.tenant_id for r in rows)
        await session.execute(across_tenants(select(model.id).limit(1), "the door's test"))


# --- Through the door: passes, with exactly the actor's rows ---


async def test_visible_reads_answer_the_actors_rows_only(app: Starlette, world: World) -> None:
    async with app.state.sessions() as session:
        uow = UnitOfWork(session, await _access_of(session, world, "r1a_sales"))
        seen = set((await session.execute(uow.visible_columns(Opportunity, Opportunity.id))).scalars())
        # The reseller's sales person sees the deal linked to their organization, and nothing else of the tenant.
        assert seen == _ids(world, "O3")
        rows = (await session.execute(uow.visible(Opportunity))).scalars().all()
        assert {r.id for r in rows} == _ids(world, "O3")
        loaded = await uow.load(Opportunity, _ids(world, "O1", "O3", "O6"))
        assert set(loaded) == _ids(world, "O3")


async def test_get_finds_a_visible_record_and_hides_an_invisible_one(app: Starlette, world: World) -> None:
    async with app.state.sessions() as session:
        uow = UnitOfWork(session, await _access_of(session, world, "r1a_sales"))
        o3 = await uow.get(Opportunity, world.opportunities["O3"].id)
        assert o3.name == world.opportunities["O3"].name
        with pytest.raises(NotFound):
            await uow.get(Opportunity, world.opportunities["O1"].id)
        specialist = UnitOfWork(session, await _access_of(session, world, "specialist"))
        # On O1's team with read access only: the deal is there to read, not to change.
        await specialist.get(Opportunity, world.opportunities["O1"].id)
        with pytest.raises(Forbidden):
            await specialist.get(Opportunity, world.opportunities["O1"].id, action=Action.UPDATE)


async def test_a_system_access_sees_the_whole_tenant_and_no_other(app: Starlette, world: World) -> None:
    async with app.state.sessions() as session:
        uow = system_unit_of_work(session, world.tenant_id, "the door's test")
        assert isinstance(uow.access, SystemAccess)
        seen = set((await session.execute(uow.visible_columns(Opportunity, Opportunity.id))).scalars())
        assert seen == _ids(world, *world.opportunities)
        elsewhere = system_unit_of_work(session, uuid.uuid4(), "the door's test")
        assert (await session.execute(elsewhere.visible_columns(Opportunity, Opportunity.id))).first() is None


async def test_batched_children_reads_carry_the_actors_visibility(app: Starlette, world: World) -> None:
    east, west = world.accounts["A_east"].id, world.accounts["A_west"].id
    async with app.state.sessions() as session:
        partner = UnitOfWork(session, await _access_of(session, world, "r1a_sales"))
        admin = UnitOfWork(session, await _access_of(session, world, "admin"))
        # Counts: the reseller counts only the deal it may see; the admin every deal of both accounts.
        assert await partner.count_children(Opportunity, Opportunity.account_id, [east, west]) == {east: 1}
        assert await admin.count_children(Opportunity, Opportunity.account_id, [east, west]) == {east: 3, west: 3}
        # All children, and the windowed first page per parent (newest first, at most `limit` each).
        every = await admin.children(Opportunity, Opportunity.account_id, [east, west], order=Opportunity.created_at)
        assert {o.id for o in every[east]} == _ids(world, "O1", "O3", "O6")
        firsts = await admin.first_children(
            Opportunity, Opportunity.account_id, [east, west], limit=2, sort=Opportunity.created_at
        )
        assert {len(firsts[east]), len(firsts[west])} == {2}
        for account in (east, west):
            newest = sorted(every[account], key=lambda o: (o.created_at, o.id), reverse=True)[:2]
            assert [o.id for o in firsts[account]] == [o.id for o in newest]
        mine = await partner.first_children(
            Opportunity, Opportunity.account_id, [east, west], limit=5, sort=Opportunity.created_at
        )
        assert {k: {o.id for o in v} for k, v in mine.items()} == {east: _ids(world, "O3")}
        assert await partner.children(Contact, Contact.account_id, [west], order=Contact.created_at) == {}


async def test_children_without_a_resource_are_read_only_under_parents_shown_visible(
    app: Starlette, world: World
) -> None:
    o1 = world.opportunities["O1"].id
    async with app.state.sessions() as session:
        uow = UnitOfWork(session, await _access_of(session, world, "admin"))
        with pytest.raises(TypeError, match="no resource of its own"):
            await uow.children(
                OpportunityTeamMember,
                OpportunityTeamMember.opportunity_id,
                [o1],
                order=OpportunityTeamMember.created_at,
            )
        seats = await uow.children(
            OpportunityTeamMember,
            OpportunityTeamMember.opportunity_id,
            [o1],
            order=OpportunityTeamMember.created_at,
            parent_visible=True,
        )
        assert [s.user_id for s in seats[o1]] == [world.users["specialist"].id]
        # Another tenant's unit of work finds none of them, however it names the parent.
        other = system_unit_of_work(session, uuid.uuid4(), "the door's test")
        assert (
            await other.children(
                OpportunityTeamMember,
                OpportunityTeamMember.opportunity_id,
                [o1],
                order=OpportunityTeamMember.created_at,
                parent_visible=True,
            )
            == {}
        )


# --- The request's loaders: made on first use, each batch through the door ---


async def test_loaders_are_made_on_first_use_and_read_through_the_door(app: Starlette, world: World) -> None:
    async with app.state.sessions() as session:
        access = await _access_of(session, world, "r1a_sales")
    loaders = Loaders(app.state.sessions, access)
    assert loaders.made() == set()
    o1, o3 = world.opportunities["O1"].id, world.opportunities["O3"].id
    assert [getattr(r, "id", None) for r in await loaders.by_type["Opportunity"].load_many([o1, o3])] == [None, o3]
    assert loaders.made() == {'by_type["Opportunity"]'}
    loaders.by_type["Opportunity"].clear(uuid.uuid4())  # a mutation forgets its record, loaded or not
    assert loaders.team_by_opportunity is loaders.team_by_opportunity
    assert await loaders.team_by_opportunity.load(o3) == []
    assert loaders.made() == {'by_type["Opportunity"]', "team_by_opportunity"}
    assert await loaders.count_opportunities_by_account.load(world.accounts["A_east"].id) == 1
    # Every Node type has its loader, by the rule of its own resource or of what it belongs to.
    assert set(loaders.by_type) == NODE_MODELS.keys() | DEPENDENT_NODE_MODELS.keys()
    async with reading(app.state.sessions, access) as uow:
        assert await uow.load(Opportunity, [o1]) == {}


# --- Statically: every resource with a row rule is a protected model ---


def test_every_model_with_a_row_rule_is_protected_under_that_resource() -> None:
    for resource, (model, _predicate) in PREDICATES.items():
        assert issubclass(model, Protected), f"{model.__name__} has a row rule ({resource}) but is not Protected"
        own = RESOURCES_OF_ANOTHER_TABLE.get(resource, resource)
        assert model.__resource__ is own, f"{model.__name__}.__resource__ should be {own}"
        assert PROTECTED[own] is model
    # And the other way: every protected model's resource has a row rule over that model.
    for resource, model in PROTECTED.items():
        assert PREDICATES[resource][0] is model, f"{resource} has no row rule over {model.__name__}"
    # A system access has a rule for every resource with a row rule, over that resource's table.
    system = SystemAccess(Actor(tenant_id=uuid.uuid4(), kind=ActorKind.MACHINE, roles=frozenset()))
    for resource, (model, _predicate) in PREDICATES.items():
        assert str(system.rows(resource)) == f"{model.__tablename__}.tenant_id = :tenant_id_1"
