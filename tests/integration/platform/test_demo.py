"""The demo tenant: believable, complete, and idempotent."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domain.channel.organizations import Organization, OrganizationKind
from domain.identity.tenants import Tenant
from domain.identity.users import INTERNAL_ROLES, User
from domain.selling.opportunities import Opportunity
from domain.selling.stages import Stage
from domain.selling.territories import Territory
from services.demo import DEMO_PASSWORD, SAMPLE_USERS, load_demo
from tests.reads import read_for_test


@pytest.fixture(scope="module")
async def demo(sessions):  # type: ignore[no-untyped-def]
    return await load_demo(sessions)


async def test_demo_has_the_promised_shape(demo, sessions) -> None:  # type: ignore[no-untyped-def]
    # 500 accounts and 2,000 opportunities, plus those the two approved deal registrations opened
    assert demo.counts["accounts"] == 502
    assert demo.counts["opportunities"] == 2002
    assert demo.counts["leads"] == 12 and demo.counts["deal registrations"] == 3
    assert (demo.counts["products"], demo.counts["orders"], demo.counts["quotes"]) == (4, 1, 1)
    async with sessions() as session:
        tenant_id = (await session.execute(select(Tenant.id).where(Tenant.slug == "acme"))).scalar_one()
        regions = await session.scalar(
            read_for_test(
                select(func.count())
                .select_from(Territory)
                .where(Territory.tenant_id == tenant_id, Territory.parent_id.is_not(None))
            )
        )
        orgs = (
            await session.scalars(read_for_test(select(Organization).where(Organization.tenant_id == tenant_id)))
        ).all()
        users = (await session.scalars(read_for_test(select(User).where(User.tenant_id == tenant_id)))).all()
        stages = set(
            await session.scalars(read_for_test(select(Opportunity.stage).where(Opportunity.tenant_id == tenant_id)))
        )
    assert regions == 3
    distributors = [o for o in orgs if o.kind is OrganizationKind.DISTRIBUTOR]
    assert len(distributors) == 2
    for distributor in distributors:
        dealers = [o for o in orgs if o.parent_id == distributor.id]
        assert len(dealers) == 3 and all(d.kind is OrganizationKind.DEALER for d in dealers)
    internal = [u for u in users if set(u.roles) & INTERNAL_ROLES]
    assert len(internal) >= 40
    assert {r for u in internal for r in u.roles} == INTERNAL_ROLES
    partners = [o for o in orgs if o.is_partner]
    assert all(any(u.organization_id == p.id for u in users) for p in partners)
    assert stages == set(Stage)


async def test_readme_users_exist_with_their_roles(demo, sessions) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        for role, email in SAMPLE_USERS:
            roles = (await session.execute(read_for_test(select(User.roles).where(User.email == email)))).scalar_one()
            assert role in roles, email
    readme = (__import__("pathlib").Path(__file__).resolve().parents[3] / "README.md").read_text()
    assert all(email in readme for _, email in SAMPLE_USERS)


async def test_loading_twice_creates_nothing(demo, sessions) -> None:  # type: ignore[no-untyped-def]
    again = await load_demo(sessions)
    assert again.created is False
    assert again.counts == demo.counts


async def test_every_sample_user_signs_in_with_the_demo_password(demo, client) -> None:  # type: ignore[no-untyped-def]
    for _role, email in SAMPLE_USERS:
        response = await client.post(
            "/auth/login", json={"tenant": "acme", "email": email, "password": DEMO_PASSWORD, "cookie": False}
        )
        assert response.status_code == 200, (email, response.text)
        me = await client.post(
            "/graphql", json={"query": "{ me { email } }"},
            headers={"Authorization": f"Bearer {response.json()['access_token']}"},
        )  # fmt: skip
        assert me.json()["data"]["me"]["email"] == email
