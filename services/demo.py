"""The demo tenant: a believable enterprise with its channel, people, customers and pipeline.

Deterministic (seeded) and idempotent: loading it twice changes nothing.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.principals import load_user_actor
from domain.access.unit_of_work import UnitOfWork, system_unit_of_work
from domain.channel.deal_registrations import ApprovalChanges, DealRegistration, NewRegistration
from domain.channel.deal_registrations import approve as approve_registration
from domain.channel.deal_registrations import submit as submit_registration
from domain.channel.lead_routing import RoutingRule, RuleKind, route
from domain.channel.leads import Lead, LeadSource, NewLead, receive_lead
from domain.channel.organizations import Organization, OrganizationKind, PartnerTier, child_path
from domain.channel.web_forms import WebForm
from domain.commerce.catalog import CatalogEntry, PriceList, Product, upsert_products
from domain.commerce.orders import Order, place_partner_order, record_credit
from domain.commerce.quotes import LineInput, Quote, create_quote
from domain.identity.sign_in.models import UserCredential
from domain.identity.sign_in.passwords import hash_password
from domain.identity.tenants import find_tenant
from domain.identity.users import User
from domain.selling.accounts import Account, LifecycleStage
from domain.selling.activities import Activity, ActivityKind
from domain.selling.company_names import normalize_company_name
from domain.selling.contacts import BuyingRole, Contact
from domain.selling.opportunities import (
    Opportunity,
    OpportunityPartner,
    OpportunityTeamMember,
    PartnerRole,
    SalesRole,
    TeamAccess,
)
from domain.selling.stages import STAGE_DEFAULTS, Stage
from domain.selling.territories import Territory
from permissions.engine import PolicyAccess, access_for
from services.tenants import create_tenant
from services.unit_of_work import Sessions

SLUG = "acme"
# The named system access of the demo load: it seeds the whole tenant, as nobody of it could.
DEMO_LOAD = "demo load"
NAME = "Acme Industrial Systems"
SEED = 20261124
ACCOUNT_COUNT = 500
OPPORTUNITY_COUNT = 2000

# The users the README lists, one per kind of role.
SAMPLE_USERS = [
    ("admin", "admin@acme.example"),
    ("sales_director", "director@acme.example"),
    ("sales_manager", "manager.east@acme.example"),
    ("account_manager", "am1@acme.example"),
    ("solution_specialist", "solution1@acme.example"),
    ("channel_manager", "channel@acme.example"),
    ("finance", "finance@acme.example"),
    ("partner_admin", "admin@north-dist.example"),
    ("partner_sales", "sales@dealer-n1.example"),
]

REGIONS = ["East", "North", "South"]
DISTRIBUTORS = [
    (
        "North Distribution Ltd",
        "north-dist",
        PartnerTier.PLATINUM,
        "North",
        [
            ("Harbin Automation Dealer", "dealer-n1"),
            ("Shenyang Controls", "dealer-n2"),
            ("Dalian Tech Supply", "dealer-n3"),
        ],
    ),
    (
        "South Channel Co.",
        "south-channel",
        PartnerTier.GOLD,
        "South",
        [("Guangzhou Systems", "dealer-s1"), ("Shenzhen Industrial", "dealer-s2"), ("Xiamen Solutions", "dealer-s3")],
    ),
]
FIRST = ["Wei", "Li", "Anna", "James", "Mei", "Omar", "Sofia", "Chen", "Lucas", "Yuki", "Ravi", "Elena", "Jun", "Maria"]
LAST = ["Zhang", "Wang", "Smith", "Garcia", "Tanaka", "Kumar", "Müller", "Rossi", "Liu", "Nguyen", "Kim", "Silva"]
PREFIX = [
    "Apex",
    "Blue River",
    "Crown",
    "Delta",
    "Eastern",
    "Golden",
    "Harbor",
    "Iron",
    "Jade",
    "Keystone",
    "Lotus",
    "Meridian",
    "Northstar",
    "Orient",
    "Pioneer",
    "Quantum",
    "Red Peak",
    "Summit",
    "Titan",
    "United",
    "Vertex",
    "Western",
    "Yangtze",
    "Zenith",
]
CORE = [
    "Steel",
    "Logistics",
    "Pharma",
    "Energy",
    "Foods",
    "Textiles",
    "Robotics",
    "Chemicals",
    "Motors",
    "Paper",
    "Electronics",
    "Glass",
    "Mining",
    "Water",
    "Packaging",
    "Semiconductors",
]
SUFFIX = ["Co., Ltd.", "Group", "Inc.", "Corp.", "Holdings", "Industries", "GmbH", "有限公司"]
SPECIALIZATIONS = ["robotics", "drives", "plc", "scada", "mes"]
INDUSTRIES = ["Manufacturing", "Logistics", "Healthcare", "Energy", "Retail", "Automotive", "Electronics", "Utilities"]
DEAL_NAMES = [
    "Line automation",
    "SCADA upgrade",
    "Predictive maintenance",
    "Plant expansion",
    "Safety retrofit",
    "Drive replacement",
    "MES rollout",
    "Energy monitoring",
    "Spare parts contract",
    "Robot cell",
]
STAGE_WEIGHTS = [
    (Stage.PROSPECTING, 20),
    (Stage.QUALIFICATION, 20),
    (Stage.SOLUTION, 15),
    (Stage.PROPOSAL, 12),
    (Stage.NEGOTIATION, 8),
    (Stage.CLOSED_WON, 15),
    (Stage.CLOSED_LOST, 10),
]


# The demo tenant's users sign in with this, outside production only; `crm serve` prints it.
DEMO_PASSWORD = "channel-demo-2026"


@dataclass
class DemoSummary:
    """What the demo load did and what the demo tenant holds."""

    tenant_slug: str
    created: bool
    counts: dict[str, int] = field(default_factory=dict)
    sample_users: list[tuple[str, str]] = field(default_factory=lambda: list(SAMPLE_USERS))


COUNTED = {
    "organizations": Organization,
    "leads": Lead,
    "deal registrations": DealRegistration,
    "territories": Territory,
    "users": User,
    "accounts": Account,
    "contacts": Contact,
    "opportunities": Opportunity,
    "activities": Activity,
    "products": Product,
    "quotes": Quote,
    "orders": Order,
}


async def _counts(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, int]:
    demo = system_unit_of_work(session, tenant_id, DEMO_LOAD)
    counted = {name: demo.visible_columns(model, func.count()) for name, model in COUNTED.items()}
    return {name: int(await session.scalar(statement) or 0) for name, statement in counted.items()}


async def load_demo(sessions: Sessions, *, production: bool = False) -> DemoSummary:
    """Create the demo tenant unless it exists; either way, report what it holds.

    Outside production every demo user can sign in with DEMO_PASSWORD (users who set their own keep it).
    """
    async with sessions() as session, session.begin():
        existing = await find_tenant(session, SLUG)
        if existing is not None:
            tenant_id, created = existing.id, False
        else:
            tenant, enterprise = await create_tenant(session, SLUG, NAME)
            await _populate(session, tenant.id, enterprise)
            tenant_id, created = tenant.id, True
        if not production:
            await _demo_passwords(session, tenant_id)
        summary = DemoSummary(SLUG, created, await _counts(session, tenant_id))
    if created:
        # Fresh tables have no planner statistics until autovacuum comes round (a minute or more): meanwhile
        # PostgreSQL takes `tenant_id = ...` for a rare value and nests loops over the whole tenant, which turned
        # the row rules' tenant-keyed subqueries into multi-second plans on a just-loaded demo (issue #14).
        async with sessions() as session:
            await session.execute(text("ANALYZE"))
            await session.commit()
    return summary


async def _demo_passwords(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Give every demo user without a password the demo password (one hash: the same password for all)."""
    digest = await hash_password(DEMO_PASSWORD)
    demo = system_unit_of_work(session, tenant_id, DEMO_LOAD)
    users = (await session.execute(demo.visible_columns(User, User.id))).scalars().all()
    await session.execute(
        pg_insert(UserCredential)
        .values([{"tenant_id": tenant_id, "user_id": u, "password_hash": digest} for u in users])
        .on_conflict_do_nothing()
    )


class _Builder:
    """Collects rows per table, then inserts each table in one statement."""

    def __init__(self, tenant_id: uuid.UUID) -> None:
        self.tenant_id = tenant_id
        self.rows: dict[type, list[dict[str, Any]]] = {}

    def add(self, model: type, **values: Any) -> uuid.UUID:
        values.setdefault("id", uuid.uuid4())
        self.rows.setdefault(model, []).append({"tenant_id": self.tenant_id, **values})
        return values["id"]

    async def flush(self, session: AsyncSession, *models: type) -> None:
        for model in models:
            batch = self.rows.pop(model, [])
            for start in range(0, len(batch), 1000):
                await session.execute(insert(model), batch[start : start + 1000])


async def _populate(session: AsyncSession, tenant_id: uuid.UUID, enterprise: Organization) -> None:
    rng = random.Random(SEED)
    b = _Builder(tenant_id)

    # Territories: Global > East, North, South
    global_id = uuid.uuid4()
    global_path = child_path(None, global_id)
    b.add(Territory, id=global_id, name="Global", parent_id=None, path=global_path)
    regions: dict[str, uuid.UUID] = {}
    for region in REGIONS:
        rid = uuid.uuid4()
        regions[region] = b.add(Territory, id=rid, name=region, parent_id=global_id, path=child_path(global_path, rid))
    await b.flush(session, Territory)

    # Partners: 2 distributors, 3 dealers each
    partner_orgs: list[tuple[uuid.UUID, str, str, OrganizationKind, uuid.UUID | None]] = []
    for dist_name, dist_domain, tier, _region, dealers in DISTRIBUTORS:
        did = uuid.uuid4()
        dpath = child_path(enterprise.path, did)
        b.add(
            Organization,
            id=did,
            name=dist_name,
            kind=OrganizationKind.DISTRIBUTOR,
            parent_id=enterprise.id,
            path=dpath,
            tier=tier,
            region_ids=[regions[_region]],
            specializations=SPECIALIZATIONS,
        )
        partner_orgs.append((did, dist_domain, _region, OrganizationKind.DISTRIBUTOR, None))
        for i, (dealer_name, dealer_domain) in enumerate(dealers):
            rid = uuid.uuid4()
            dealer_tier = [PartnerTier.GOLD, PartnerTier.SILVER, PartnerTier.REGISTERED][i]
            b.add(
                Organization,
                id=rid,
                name=dealer_name,
                kind=OrganizationKind.DEALER,
                parent_id=did,
                path=child_path(dpath, rid),
                tier=dealer_tier,
                region_ids=[regions[_region]],
                specializations=SPECIALIZATIONS[i::3] + SPECIALIZATIONS[:1],
            )
            partner_orgs.append((rid, dealer_domain, _region, OrganizationKind.DEALER, did))
    await b.flush(session, Organization)

    # Internal users
    people = iter(rng.sample([(f, last) for f in FIRST for last in LAST], 80))

    def person() -> str:
        first, last = next(people)
        return f"{first} {last}"

    def user(
        email: str,
        roles: list[str],
        *,
        org: uuid.UUID = enterprise.id,
        territory: uuid.UUID | None = None,
        manager: uuid.UUID | None = None,
        name: str | None = None,
    ) -> uuid.UUID:
        return b.add(
            User,
            email=email,
            name=name or person(),
            organization_id=org,
            roles=roles,
            territory_id=territory,
            manager_id=manager,
        )

    user("admin@acme.example", ["admin"])
    director = user("director@acme.example", ["sales_director"], territory=global_id)
    await b.flush(session, User)  # managers first: later rows point at them
    managers = {
        r: user(f"manager.{r.lower()}@acme.example", ["sales_manager"], territory=regions[r], manager=director)
        for r in REGIONS
    }
    await b.flush(session, User)
    account_managers: list[tuple[uuid.UUID, str]] = []
    for i in range(12):
        region = REGIONS[i % 3]
        uid = user(f"am{i + 1}@acme.example", ["account_manager"], territory=regions[region], manager=managers[region])
        account_managers.append((uid, region))
    specialists: dict[SalesRole, list[uuid.UUID]] = {}
    for role, prefix, count in (
        (SalesRole.SOLUTION_SPECIALIST, "solution", 4),
        (SalesRole.INDUSTRY_SPECIALIST, "industry", 3),
        (SalesRole.PRODUCT_SPECIALIST, "product", 3),
        (SalesRole.NEGOTIATOR, "negotiator", 2),
    ):
        specialists[role] = [
            user(f"{prefix}{i + 1}@acme.example", [role.value], manager=director) for i in range(count)
        ]
    channel_managers = [user("channel@acme.example", ["channel_manager"], manager=director)]
    channel_managers += [user(f"channel{i}@acme.example", ["channel_manager"], manager=director) for i in (2, 3)]
    for i in range(3):
        user("finance@acme.example" if i == 0 else f"finance{i + 1}@acme.example", ["finance"])
    for i in range(4):
        user(f"service{i + 1}@acme.example", ["service_agent"])
    for i in range(3):
        user(f"sales.ops{i + 1}@acme.example", ["account_manager"], territory=global_id, manager=director)

    # Partner users: admin, manager and sales for distributors; admin and sales for dealers
    partner_sales: dict[uuid.UUID, list[uuid.UUID]] = {}
    for org_id, domain, _region, kind, _parent in partner_orgs:
        user(f"admin@{domain}.example", ["partner_admin"], org=org_id)
        if kind is OrganizationKind.DISTRIBUTOR:
            user(f"manager@{domain}.example", ["partner_manager"], org=org_id)
        partner_sales[org_id] = [user(f"sales@{domain}.example", ["partner_sales"], org=org_id)]
        partner_sales[org_id].append(user(f"sales2@{domain}.example", ["partner_sales"], org=org_id))
    await b.flush(session, User)

    # Accounts with contacts
    dealers_by_region: dict[str, list[tuple[uuid.UUID, uuid.UUID]]] = {}
    for org_id, _domain, region, kind, parent in partner_orgs:
        if kind is OrganizationKind.DEALER and parent is not None:
            dealers_by_region.setdefault(region, []).append((org_id, parent))
    used_names: set[str] = set()
    accounts: list[tuple[uuid.UUID, uuid.UUID, str, uuid.UUID | None]] = []
    while len(accounts) < ACCOUNT_COUNT:
        name = f"{rng.choice(PREFIX)} {rng.choice(CORE)} {rng.choice(SUFFIX)}"
        if normalize_company_name(name) in used_names:
            name = f"{name.rsplit(' ', 1)[0]} {len(accounts)} {name.rsplit(' ', 1)[1]}"
        used_names.add(normalize_company_name(name))
        owner, region = rng.choice(account_managers)
        managed_by = (
            rng.choice(dealers_by_region[region])[0] if region in dealers_by_region and rng.random() < 0.25 else None
        )
        aid = b.add(
            Account,
            name=name,
            normalized_name=normalize_company_name(name)[:200],
            tax_id=f"91{rng.randrange(10**15, 10**16)}",
            web_domain=f"{normalize_company_name(name).split()[0]}{len(accounts)}.example",
            industry=rng.choice(INDUSTRIES),
            grade=rng.choice("ABC"),
            owner_id=owner,
            territory_id=regions[region],
            managing_partner_id=managed_by,
            lifecycle_stage=rng.choice(list(LifecycleStage)),
        )
        accounts.append((aid, owner, region, managed_by))
        for _ in range(rng.randint(2, 4)):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            b.add(
                Contact,
                account_id=aid,
                first_name=first,
                last_name=last,
                email=f"{first.lower()}.{last.lower()}{rng.randrange(100)}@customer{len(accounts)}.example",
                title=rng.choice(["CIO", "Plant Manager", "Procurement Lead", "Engineer", "CFO"]),
                buying_role=rng.choice(list(BuyingRole)),
            )
    await b.flush(session, Account, Contact)

    # Opportunities with teams, partner links and activities
    stages = [s for s, _ in STAGE_WEIGHTS]
    weights = [w for _, w in STAGE_WEIGHTS]
    today = date(2026, 11, 24)
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    all_users = [u for u, _ in account_managers]
    for n in range(OPPORTUNITY_COUNT):
        aid, owner, region, managed_by = rng.choice(accounts)
        stage = rng.choices(stages, weights)[0]
        probability, forecast = STAGE_DEFAULTS[stage]
        close = today + timedelta(days=rng.randint(-180, 270) if stage.is_closed else rng.randint(7, 365))
        created = now - timedelta(days=rng.randint(1, 540), minutes=n)
        oid = b.add(
            Opportunity,
            account_id=aid,
            name=f"{rng.choice(DEAL_NAMES)} #{n + 1}",
            owner_id=owner,
            territory_id=regions[region],
            stage=stage,
            amount=Decimal(rng.randrange(5_000, 2_000_000, 500)),
            currency=rng.choices(["USD", "EUR", "CNY"], [70, 15, 15])[0],
            close_date=close,
            probability=probability,
            forecast_category=forecast,
            margin=Decimal(rng.randint(5, 45)) / 100 if rng.random() < 0.7 else None,
            internal_notes="Competitor pricing aggressive." if rng.random() < 0.2 else None,
            created_at=created,
            updated_at=created,
        )
        members = rng.sample(
            [
                SalesRole.SOLUTION_SPECIALIST,
                SalesRole.INDUSTRY_SPECIALIST,
                SalesRole.PRODUCT_SPECIALIST,
                SalesRole.NEGOTIATOR,
            ],
            rng.randint(1, 3),
        )
        for role in members:
            b.add(
                OpportunityTeamMember,
                opportunity_id=oid,
                user_id=rng.choice(specialists[role]),
                sales_role=role,
                access=TeamAccess.EDIT if role is not SalesRole.PRODUCT_SPECIALIST else TeamAccess.READ,
            )
        is_channel = managed_by is not None or rng.random() < 0.3
        if is_channel and region in dealers_by_region:
            dealer, distributor = (
                next(d for d in dealers_by_region[region] if d[0] == managed_by)
                if managed_by
                else rng.choice(dealers_by_region[region])
            )
            b.add(OpportunityPartner, opportunity_id=oid, organization_id=dealer, role=PartnerRole.SOURCING)
            if rng.random() < 0.6:
                b.add(OpportunityPartner, opportunity_id=oid, organization_id=distributor, role=PartnerRole.FULFILLING)
            b.add(
                OpportunityTeamMember,
                opportunity_id=oid,
                user_id=rng.choice(channel_managers),
                sales_role=SalesRole.CHANNEL_MANAGER,
                access=TeamAccess.EDIT,
            )
            b.add(
                OpportunityTeamMember,
                opportunity_id=oid,
                user_id=partner_sales[dealer][0],
                sales_role=SalesRole.PARTNER_REP,
                access=TeamAccess.EDIT,
            )
        for k in range(rng.randint(1, 4)):
            activity_kind = rng.choice(list(ActivityKind))
            when = created + timedelta(days=k * 7 + rng.randint(0, 6))
            subject = f"{activity_kind.value.title()} about {DEAL_NAMES[n % len(DEAL_NAMES)].lower()}"
            b.add(
                Activity,
                kind=activity_kind,
                subject=subject,
                account_id=aid,
                opportunity_id=oid,
                owner_id=rng.choice([owner, *all_users[:2]]),
                occurred_at=when,
                due_at=when + timedelta(days=3) if activity_kind is ActivityKind.TASK else None,
                done=activity_kind is not ActivityKind.TASK or rng.random() < 0.5,
            )
    await b.flush(session, Opportunity, OpportunityTeamMember, OpportunityPartner, Activity)
    distributors = [org_id for org_id, _d, _r, kind, _p in partner_orgs if kind is OrganizationKind.DISTRIBUTOR]
    await _channel_programme(session, tenant_id, rng, distributors, channel_managers, regions, account_managers)


async def _channel_programme(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    rng: random.Random,
    distributors: list[uuid.UUID],
    channel_managers: list[uuid.UUID],
    regions: dict[str, uuid.UUID],
    account_managers: list[tuple[uuid.UUID, str]],
) -> None:
    """Channel managers for the distributors, routing rules, a web form, routed leads and deal registrations."""
    for distributor, manager in zip(distributors, channel_managers, strict=False):
        await session.execute(
            update(Organization)
            .where(Organization.tenant_id == tenant_id, Organization.id == distributor)
            .values(channel_manager_id=manager)
        )
    east_desk = [u for u, region in account_managers if region == "East"]
    session.add_all(
        [
            RoutingRule(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                position=1,
                name="Partners by region and skill",
                kind=RuleKind.PARTNER,
            ),
            RoutingRule(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                position=2,
                name="East inside sales",
                kind=RuleKind.INTERNAL,
                user_ids=east_desk,
                max_open_leads=25,
            ),
        ]
    )
    session.add(
        WebForm(
            tenant_id=tenant_id,
            id=uuid.uuid4(),
            key="acme-contact-us",
            secret=uuid.uuid4().hex * 2,
            name="Contact us",
            campaign="Website",
        )
    )
    await session.flush()
    demo = system_unit_of_work(session, tenant_id, DEMO_LOAD)
    for n in range(12):
        region = list(regions)[n % 3]
        lead = await receive_lead(
            demo,
            NewLead(
                company_name=f"{rng.choice(PREFIX)} {rng.choice(CORE)} Prospect {n + 1}",
                last_name=rng.choice(LAST),
                first_name=rng.choice(FIRST),
                email=f"buyer{n + 1}@prospect{n + 1}.example",
                source=LeadSource.EVENT,
                source_detail="Hannover Messe",
                interests=[rng.choice(SPECIALIZATIONS)],
                territory_id=regions[region],
            ),
        )
        await route(demo, lead)
    # Dealer registrations: two approved (protected), one awaiting the channel manager
    dealer_sales = (
        await session.execute(demo.visible(User).where(User.email == "sales@dealer-n1.example"))
    ).scalar_one()
    dealer_access = await _access(session, tenant_id, dealer_sales.id)
    manager_access = await _access(session, tenant_id, channel_managers[0])
    close = date.today() + timedelta(days=120)  # registrations must close in the future, whenever loaded
    for n, name in enumerate(["Harbin Boiler Works", "Qiqihar Rail Systems", "Daqing Petrochem Services"]):
        registration = await submit_registration(
            UnitOfWork(session, dealer_access),
            NewRegistration(
                customer_name=name,
                amount=Decimal(150_000 + 50_000 * n),
                currency="CNY",
                expected_close_date=close,
                products=[SPECIALIZATIONS[n], "service contract"],
                notes="Met at the Harbin trade fair.",
            ),
        )
        if n < 2:
            approver = UnitOfWork(session, manager_access)
            await approve_registration(approver, registration.id, ApprovalChanges(), "Welcome")
    await _commerce(session, tenant_id, dealer_access)


async def _commerce(session: AsyncSession, tenant_id: uuid.UUID, dealer_access: PolicyAccess) -> None:
    """A catalogue as an ERP sync would bring it, partner price lists, a dealer's order and an internal quote."""
    demo = system_unit_of_work(session, tenant_id, DEMO_LOAD)
    await upsert_products(
        session,
        tenant_id,
        [
            CatalogEntry("HW-100", "Edge gateway", Decimal("1250.00"), "USD", True, None),
            CatalogEntry("HW-210", "Industrial switch", Decimal("640.00"), "USD", True, None),
            CatalogEntry("SW-300", "Fleet analytics licence (monthly)", Decimal("90.00"), "USD", True, None),
            CatalogEntry("SVC-400", "Premium support (monthly)", Decimal("150.00"), "USD", True, None),
        ],
    )
    for name, kind, tier, discount in (
        ("Distributors", OrganizationKind.DISTRIBUTOR, None, "30"),
        ("Dealers", OrganizationKind.DEALER, None, "20"),
        ("Gold dealers", OrganizationKind.DEALER, PartnerTier.GOLD, "25"),
    ):
        session.add(
            PriceList(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                name=name,
                partner_kind=kind,
                partner_tier=tier,
                discount_percent=Decimal(discount),
            )
        )
    await session.flush()
    products = dict((await session.execute(demo.visible_columns(Product, Product.code, Product.id))).all())
    # Credit as the ERP would report it: a limit per partner, and what each owes
    partners = (
        await session.execute(
            demo.visible_columns(Organization, Organization.id, Organization.kind).where(
                Organization.kind != OrganizationKind.ENTERPRISE
            )
        )
    ).all()
    for organization_id, kind in partners:
        limit = Decimal("500000.00") if kind is OrganizationKind.DISTRIBUTOR else Decimal("120000.00")
        await record_credit(session, tenant_id, str(organization_id), limit, limit / 8)
    dealer = UnitOfWork(session, dealer_access)
    await place_partner_order(dealer, [LineInput(products["HW-210"], Decimal("4"))], account_id=None)
    am = (await session.execute(demo.visible(User).where(User.email == "am1@acme.example"))).scalar_one()
    am_access = await _access(session, tenant_id, am.id)
    deal = await session.scalar(
        demo.visible_columns(Opportunity, Opportunity.id)
        .where(Opportunity.owner_id == am.id, Opportunity.stage == Stage.PROPOSAL)
        .limit(1)
    )
    if deal is not None:
        await create_quote(
            UnitOfWork(session, am_access),
            deal,
            [
                LineInput(products["HW-100"], Decimal("10"), Decimal("5")),
                LineInput(products["SVC-400"], Decimal("12")),
            ],
        )


async def _access(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> PolicyAccess:
    """The access of one demo user, to act as them (registering deals, ordering, quoting)."""
    loaded = await load_user_actor(session, tenant_id, user_id)
    assert loaded is not None
    return await access_for(session, loaded.actor, loaded.policy_version)
