"""The partner portal's test world: the known channel of world.py, with passwords, a catalogue, credit, lead
offers, registrations, deals closing this month, and orders the ERP has confirmed and invoiced.

Every record a dealer or distributor must never see has a distinctive name, listed in `hidden_from`, so a
browser journey can check that none of it appears on any page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import UnitOfWork
from domain.channel.deal_registrations import DealRegistration, RegistrationStatus
from domain.channel.leads import Lead, LeadSource, LeadStatus
from domain.channel.organizations import Organization
from domain.commerce.orders import Order, OrderStatus, record_credit
from domain.commerce.quotes import LineInput
from domain.commerce.receivables import Installment
from domain.erp.outbox import SyncState
from domain.identity.sign_in.models import UserCredential
from domain.identity.sign_in.passwords import hash_password
from domain.identity.users import User
from domain.selling.accounts import Account, LifecycleStage
from domain.selling.activities import Activity, ActivityKind
from domain.selling.company_names import normalize_company_name
from domain.selling.opportunities import (
    Opportunity,
    OpportunityPartner,
    OpportunityTeamMember,
    PartnerRole,
    SalesRole,
    TeamAccess,
)
from domain.selling.stages import ForecastCategory, Stage
from domain.selling.team_stage_rules import FieldGroup, TeamStageRule
from tests.integration.commerce_setup import stock_catalogue
from tests.integration.world import World, build_world

PASSWORD = "violet-harbour-lantern-42"

# Opportunities of world.py, renamed so that a leak is easy to see: key -> name.
DEAL_NAMES = {
    "O1": "Direct East Turbine Retrofit",  # the enterprise's own business
    "O2": "Direct West Boiler Upgrade",
    "O3": "Harbin Line Automation",  # R1a brought it
    "O4": "Sibling Robot Cell Rollout",  # R1b brought it
    "O5": "Other Distributor Scada Deal",  # R2a, under D2
    "O6": "Distributor Fulfilment Project",  # D1 fulfils it
}


# Organizations, people and customers of world.py, given the names a real channel would have.
ORGANIZATION_NAMES = {
    "D1": "North Distribution Ltd",
    "D2": "South Channel Co.",
    "R1a": "Harbin Automation Dealer",
    "R1b": "Shenyang Controls",
    "R2a": "Guangzhou Systems",
}
PEOPLE = {"r1a_sales": "Li Wei", "r1a_admin": "Wang Fang", "r1b_sales": "Zhao Lei", "d1_admin": "Chen Jing",
          "d1_manager": "Liu Yang", "d2_admin": "Sun Hui"}  # fmt: skip
CUSTOMERS = {"A_east": "Daqing Petrochem Services", "A_west": "Xi'an Aero Parts", "A_r1a": "Qiqihar Rail Systems"}


@dataclass
class PortalWorld:
    world: World
    slug: str
    products: dict[str, uuid.UUID]
    names: dict[str, str] = field(default_factory=dict)

    def user(self, key: str):  # type: ignore[no-untyped-def]
        return self.world.users[key]

    def hidden_from(self, viewer: str) -> list[str]:
        """What this viewer must never see on any page: other partners' and the enterprise's direct business."""
        n = self.names
        enterprise = [n["O1"], n["O2"], n["direct_globex_deal"], n["internal_notes"]]
        other_distributor = [n["O5"], n["D2"], n["R2a"], n["r2a_lead"]]
        sibling = [n["O4"], n["R1b"], n["r1b_lead"], n["r1b_registration"], n["r1b_order"]]
        if viewer == "dealer":  # R1a's sales rep
            return enterprise + other_distributor + sibling + [n["O6"]]
        if viewer == "sibling dealer":  # R1b's people: the mirror image of R1a's
            return enterprise + other_distributor + [n["O3"], n["R1a"], n["r1a_lead"], n["r1a_registration"], n["O6"]]
        if viewer == "distributor":  # D1's admin: sees R1a and R1b, never D2's tree or the enterprise's own
            return enterprise + other_distributor
        raise ValueError(viewer)


async def build_portal_world(sessions: async_sessionmaker[AsyncSession]) -> PortalWorld:
    world = await build_world(sessions)
    tid = world.tenant_id
    now = datetime.now(UTC)
    today = date.today()
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    products = await stock_catalogue(sessions, tid)
    names = dict(ORGANIZATION_NAMES)
    names.update(DEAL_NAMES)
    names.update(PEOPLE)
    names.update(
        direct_globex_deal="Direct Globex Expansion",
        internal_notes="Internal-only note: competitor undercut us",
        r1a_lead="Northwind Robotics",
        r1b_lead="Sibling Lead Textiles",
        r2a_lead="Other Tree Lead Mining",
        r1a_registration="Fabrikam Foods",
        r1b_registration="Sibling Registered Paper",
        conflict_customer="Globex Heavy Industries",
    )
    digest = await hash_password(PASSWORD)
    async with sessions() as session, session.begin():
        for key, user in world.users.items():
            if key in {"r1a_sales", "r1a_admin", "r1b_sales", "d1_admin", "d1_manager", "d2_admin"}:
                session.add(UserCredential(tenant_id=tid, user_id=user.id, password_hash=digest))
        for key, name in ORGANIZATION_NAMES.items():
            await session.execute(
                update(Organization).where(Organization.tenant_id == tid, Organization.id == world.orgs[key].id)
                .values(name=name)
            )  # fmt: skip
        for key, name in PEOPLE.items():
            await session.execute(
                update(User).where(User.tenant_id == tid, User.id == world.users[key].id).values(name=name)
            )
        for key, name in CUSTOMERS.items():
            await session.execute(
                update(Account).where(Account.tenant_id == tid, Account.id == world.accounts[key].id)
                .values(name=name, normalized_name=normalize_company_name(name))
            )  # fmt: skip
        names.update(CUSTOMERS)
        for key, name in DEAL_NAMES.items():
            opportunity = world.opportunities[key]
            await session.execute(
                update(Opportunity)
                .where(Opportunity.tenant_id == tid, Opportunity.id == opportunity.id)
                .values(name=name, internal_notes=names["internal_notes"], close_date=month_end, amount=Decimal("48000.00"), currency="CNY")
            )  # fmt: skip
        # R1a's rep is on its deal's team and has a task and a call logged on it
        o3 = world.opportunities["O3"]
        session.add(
            OpportunityTeamMember(
                tenant_id=tid, opportunity_id=o3.id, user_id=world.users["r1a_sales"].id,
                sales_role=SalesRole.PARTNER_REP, access=TeamAccess.EDIT,
            )
        )  # fmt: skip
        # The tenant lets partner reps change a deal's figures only while it is being prospected
        session.add(
            TeamStageRule(
                tenant_id=tid, id=uuid.uuid4(), sales_role=SalesRole.PARTNER_REP, stage=Stage.PROSPECTING,
                field_group=FieldGroup.COMMERCIAL, can_edit=True,
            )
        )  # fmt: skip
        session.add_all([
            Activity(tenant_id=tid, id=uuid.uuid4(), kind=ActivityKind.CALL, subject="Kick-off call with the plant manager",
                     account_id=o3.account_id, opportunity_id=o3.id, owner_id=world.users["r1a_sales"].id,
                     occurred_at=now - timedelta(days=3)),
            Activity(tenant_id=tid, id=uuid.uuid4(), kind=ActivityKind.TASK, subject="Send the line layout drawing",
                     account_id=o3.account_id, opportunity_id=o3.id, owner_id=world.users["r1a_sales"].id,
                     occurred_at=now - timedelta(days=1), due_at=now + timedelta(days=2), done=False),
        ])  # fmt: skip
        # Results of this year: R1a won a deal, R1b lost one
        for org, name, stage, category, amount in (
            ("R1a", "Qiqihar Depot Controls", Stage.CLOSED_WON, ForecastCategory.CLOSED, "96000.00"),
            ("R1b", "Shenyang Press Line", Stage.CLOSED_LOST, ForecastCategory.OMITTED, "30000.00"),
        ):
            closed = Opportunity(
                tenant_id=tid, id=uuid.uuid4(), account_id=world.accounts["A_r1a"].id, name=name,
                owner_id=world.users["am_west"].id, territory_id=world.territories["West"].id, stage=stage,
                amount=Decimal(amount), currency="CNY", close_date=today.replace(day=1), probability=100 if stage is Stage.CLOSED_WON else 0,
                forecast_category=category,
            )  # fmt: skip
            session.add(closed)
            await session.flush()
            session.add(OpportunityPartner(tenant_id=tid, opportunity_id=closed.id, organization_id=world.orgs[org].id,
                                           role=PartnerRole.SOURCING))  # fmt: skip
        # The enterprise's direct customer a dealer may try to register (and meet a conflict)
        globex = Account(
            tenant_id=tid, id=uuid.uuid4(), name=names["conflict_customer"], normalized_name=normalize_company_name(names["conflict_customer"]),
            owner_id=world.users["am_east"].id, territory_id=world.territories["East"].id,
            lifecycle_stage=LifecycleStage.CUSTOMER,
        )  # fmt: skip
        session.add(globex)
        await session.flush()
        session.add(
            Opportunity(
                tenant_id=tid, id=uuid.uuid4(), account_id=globex.id, name=names["direct_globex_deal"],
                owner_id=world.users["am_east"].id, territory_id=globex.territory_id, stage=Stage.PROPOSAL,
                amount=Decimal("250000.00"), currency="CNY", close_date=month_end, probability=60,
                forecast_category=ForecastCategory.BEST_CASE,
            )
        )  # fmt: skip
        # Lead offers: one to R1a (to accept), one to its sibling, one in the other distributor's tree
        for org, company in (("R1a", names["r1a_lead"]), ("R1b", names["r1b_lead"]), ("R2a", names["r2a_lead"])):
            session.add(
                Lead(
                    tenant_id=tid, company_name=company, normalized_name=company.lower(), first_name="Mei",
                    last_name="Chen", email=f"mei@{company.split()[0].lower()}.example", interests=["robotics"],
                    source=LeadSource.EVENT, source_detail="Hannover Messe", status=LeadStatus.OFFERED,
                    partner_organization_id=world.orgs[org].id, offer_expires_at=now + timedelta(hours=20),
                )
            )  # fmt: skip
        # Registrations: R1a's protection ends in 10 days; its sibling has one too
        for org, customer, user in (("R1a", names["r1a_registration"], "r1a_sales"),
                                    ("R1b", names["r1b_registration"], "r1b_sales")):  # fmt: skip
            session.add(
                DealRegistration(
                    tenant_id=tid, partner_organization_id=world.orgs[org].id, submitted_by_id=world.users[user].id,
                    customer_name=customer, customer_normalized_name=customer.lower(), products=["plc"],
                    amount=Decimal("120000.00"), currency="CNY", expected_close_date=today + timedelta(days=60),
                    status=RegistrationStatus.APPROVED, protection_expires_at=now + timedelta(days=10),
                    decided_at=now - timedelta(days=80),
                )
            )  # fmt: skip
        # The ERP's credit for the two dealers and their distributor
        for org, limit, owed in (("R1a", "6000.00", "1000.00"), ("R1b", "6000.00", "0.00"), ("D1", "50000.00", "0.00")):
            await record_credit(session, tid, str(world.orgs[org].id), Decimal(limit), Decimal(owed))
    # Orders placed as the dealers would, then confirmed and invoiced by the ERP; R1a's is overdue.
    async with sessions() as session, session.begin():
        r1a_order = await _place(session, world, "r1a_sales", [LineInput(products["HW-100"], Decimal("2"))],
                                 world.accounts["A_r1a"].id)  # fmt: skip
        r1b_order = await _place(session, world, "r1b_sales", [LineInput(products["SVC-200"], Decimal("3"))], None)
        await session.flush()
        for order in (r1a_order, r1b_order):
            order.status, order.sync_state = OrderStatus.CONFIRMED, SyncState.SYNCED
            order.erp_id, order.erp_number, order.invoice_state = (
                f"erp-{order.number}",
                f"S{order.number[-4:]}",
                "posted",
            )
        await session.execute(
            update(Installment)
            .where(Installment.tenant_id == tid, Installment.order_id == r1a_order.id)
            .values(due_date=today - timedelta(days=12))
        )
        names["r1a_order"], names["r1b_order"] = r1a_order.number, r1b_order.number
    return PortalWorld(world=world, slug=world.slug, products=products, names=names)


async def _place(session, world, user_key, lines, account_id) -> Order:  # type: ignore[no-untyped-def]
    from domain.access.principals import load_user_actor
    from domain.commerce.orders import place_partner_order
    from permissions.engine import access_for

    loaded = await load_user_actor(session, world.tenant_id, world.users[user_key].id)
    assert loaded is not None
    access = await access_for(session, loaded.actor, loaded.policy_version)
    assert access.can(Resource.ORDER, Action.CREATE)
    return await place_partner_order(UnitOfWork(session, access), lines, account_id=account_id)


async def latest_mail_link(sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, to: str) -> str:
    """The link in the newest mail to `to` (an invitation or reset), as the person would click it."""
    import re

    from domain.identity.sign_in.models import MailMessage

    async with sessions() as session:
        mail = (
            await session.execute(
                select(MailMessage)
                .where(MailMessage.tenant_id == tenant_id, MailMessage.to_address == to)
                .order_by(MailMessage.created_at.desc())
                .limit(1)
            )
        ).scalar_one()
    found = re.search(r"https?://\S+#token=[\w-]+", mail.body_text)
    assert found, mail.body_text
    return found.group(0)
