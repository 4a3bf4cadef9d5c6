"""A small, fully known channel in a fresh tenant: who exists and which records each role should see.

Enterprise ─┬─ D1 (distributor) ─┬─ R1a (dealer)
            │                    └─ R1b (dealer)
            └─ D2 (distributor) ─── R2a (dealer)
Territories: Global ─┬─ East
                     └─ West
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.channel.organizations import Organization, OrganizationKind, PartnerTier, child_path
from domain.identity.users import User
from domain.selling.accounts import Account
from domain.selling.opportunities import (
    Opportunity,
    OpportunityPartner,
    OpportunityTeamMember,
    PartnerRole,
    SalesRole,
    TeamAccess,
)
from domain.selling.stages import ForecastCategory, Stage
from domain.selling.territories import Territory
from services.tenants import create_tenant


@dataclass
class World:
    tenant_id: uuid.UUID
    slug: str
    orgs: dict[str, Organization] = field(default_factory=dict)
    territories: dict[str, Territory] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    opportunities: dict[str, Opportunity] = field(default_factory=dict)


# user key -> (home org key, roles, territory key, manager key)
USERS: dict[str, tuple[str, list[str], str | None, str | None]] = {
    "admin": ("E", ["admin"], None, None),
    "director": ("E", ["sales_director"], "Global", None),
    "manager_east": ("E", ["sales_manager"], "East", "director"),
    "am_east": ("E", ["account_manager"], "East", "manager_east"),
    "am_west": ("E", ["account_manager"], "West", None),
    "specialist": ("E", ["solution_specialist"], None, None),
    "finance": ("E", ["finance"], None, None),
    "channel_mgr": ("E", ["channel_manager"], None, None),  # manages D1 and so its dealers
    "channel_mgr2": ("E", ["channel_manager"], None, None),  # manages D2
    "d1_admin": ("D1", ["partner_admin"], None, None),
    "d1_manager": ("D1", ["partner_manager"], None, None),
    "r1a_admin": ("R1a", ["partner_admin"], None, None),
    "r1a_sales": ("R1a", ["partner_sales"], None, None),
    "r1b_sales": ("R1b", ["partner_sales"], None, None),
    "d2_admin": ("D2", ["partner_admin"], None, None),
}

# opportunity key -> (account key, owner key, partner links, team)
OPPORTUNITIES: dict[str, tuple[str, str, list[tuple[str, PartnerRole]], list[tuple[str, TeamAccess]]]] = {
    "O1": ("A_east", "am_east", [], [("specialist", TeamAccess.READ)]),
    "O2": ("A_west", "am_west", [], [("specialist", TeamAccess.EDIT)]),
    "O3": ("A_east", "am_east", [("R1a", PartnerRole.SOURCING)], []),
    "O4": ("A_west", "am_west", [("R1b", PartnerRole.SOURCING)], []),
    "O5": ("A_west", "am_west", [("R2a", PartnerRole.SOURCING)], []),
    "O6": ("A_east", "am_east", [("D1", PartnerRole.FULFILLING)], []),
}

# account key -> (owner, territory, managing partner)
ACCOUNTS: dict[str, tuple[str, str, str | None]] = {
    "A_east": ("am_east", "East", None),
    "A_west": ("am_west", "West", None),
    "A_r1a": ("am_west", "West", "R1a"),
}


async def build_world(sessions: async_sessionmaker[AsyncSession]) -> World:
    """Create the world above in a new tenant and return handles to everything in it."""
    slug = f"t-{uuid.uuid4().hex[:10]}"
    async with sessions() as session, session.begin():
        tenant, enterprise = await create_tenant(session, slug, f"Tenant {slug}")
        w = World(tenant_id=tenant.id, slug=slug)
        w.orgs["E"] = enterprise
        tid = tenant.id

        def org(key: str, parent: str, kind: OrganizationKind, tier: PartnerTier) -> None:
            oid = uuid.uuid4()
            w.orgs[key] = Organization(
                tenant_id=tid, id=oid, name=f"{key} {slug}", kind=kind, parent_id=w.orgs[parent].id,
                path=child_path(w.orgs[parent].path, oid), tier=tier,
            )  # fmt: skip
            session.add(w.orgs[key])

        org("D1", "E", OrganizationKind.DISTRIBUTOR, PartnerTier.PLATINUM)
        org("D2", "E", OrganizationKind.DISTRIBUTOR, PartnerTier.GOLD)
        org("R1a", "D1", OrganizationKind.DEALER, PartnerTier.SILVER)
        org("R1b", "D1", OrganizationKind.DEALER, PartnerTier.SILVER)
        org("R2a", "D2", OrganizationKind.DEALER, PartnerTier.REGISTERED)

        for key, parent in (("Global", None), ("East", "Global"), ("West", "Global")):
            tid_ = uuid.uuid4()
            parent_row = w.territories.get(parent) if parent else None
            w.territories[key] = Territory(
                tenant_id=tid, id=tid_, name=key, parent_id=parent_row.id if parent_row else None,
                path=child_path(parent_row.path if parent_row else None, tid_),
            )  # fmt: skip
            session.add(w.territories[key])
        await session.flush()

        for key, (org_key, roles, territory, _manager) in USERS.items():
            w.users[key] = User(
                tenant_id=tid, id=uuid.uuid4(), email=f"{key}@{slug}.example", name=key.replace("_", " ").title(),
                organization_id=w.orgs[org_key].id, roles=roles,
                territory_id=w.territories[territory].id if territory else None,
            )  # fmt: skip
            session.add(w.users[key])
        await session.flush()
        for key, (_org, _roles, _territory, manager) in USERS.items():
            if manager:
                w.users[key].manager_id = w.users[manager].id
        w.orgs["D1"].channel_manager_id = w.users["channel_mgr"].id
        w.orgs["D2"].channel_manager_id = w.users["channel_mgr2"].id

        for key, (owner, territory, partner) in ACCOUNTS.items():
            w.accounts[key] = Account(
                tenant_id=tid, id=uuid.uuid4(), name=f"{key} Industries", normalized_name=f"{key.lower()} industries",
                owner_id=w.users[owner].id, territory_id=w.territories[territory].id,
                managing_partner_id=w.orgs[partner].id if partner else None,
            )  # fmt: skip
            session.add(w.accounts[key])
        await session.flush()

        for key, (account, owner, partners, team) in OPPORTUNITIES.items():
            acc = w.accounts[account]
            opp = Opportunity(
                tenant_id=tid, id=uuid.uuid4(), account_id=acc.id, name=key, owner_id=w.users[owner].id,
                territory_id=acc.territory_id, stage=Stage.QUALIFICATION, amount=Decimal("1000.00"), currency="USD",
                close_date=date(2027, 3, 31), probability=20, forecast_category=ForecastCategory.PIPELINE,
                margin=Decimal("0.3000"), internal_notes=f"internal {key}",
            )  # fmt: skip
            w.opportunities[key] = opp
            session.add(opp)
            await session.flush()
            for org_key, role in partners:
                session.add(
                    OpportunityPartner(
                        tenant_id=tid, opportunity_id=opp.id, organization_id=w.orgs[org_key].id, role=role
                    )
                )
            for user_key, team_access in team:
                session.add(
                    OpportunityTeamMember(
                        tenant_id=tid, opportunity_id=opp.id, user_id=w.users[user_key].id,
                        sales_role=SalesRole.SOLUTION_SPECIALIST, access=team_access,
                    )
                )  # fmt: skip
        await session.flush()
    return w
