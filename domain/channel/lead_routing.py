"""Lead routing: tenant rules, evaluated in order, send each lead to an internal user (round robin with
capacity) or offer it to a partner (region, specialization, tier weight, current load). A partner
accepts or declines within the tenant's SLA; silence or a decline re-routes the lead to the next match.
Every decision is stored with its reason, so "why did this lead go to this dealer" has an answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ARRAY, Boolean, Enum, ForeignKeyConstraint, Index, Integer, String, Text, Uuid, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import Protected, UnitOfWork, across_tenants, system_unit_of_work
from domain.audit import trail as audit_log
from domain.channel.codes import ChannelCode
from domain.channel.leads import Lead, LeadStatus
from domain.channel.organizations import Organization, OrganizationKind, OrganizationStatus, PartnerTier
from domain.identity.tenants import Tenant
from domain.identity.users import User
from domain.selling.territories import Territory
from domain.shared.base import Base, TenantScoped, Timestamped, utcnow
from domain.shared.errors import Conflict, ErrorCode, Forbidden, Validator

TIER_WEIGHT = {PartnerTier.PLATINUM: 4, PartnerTier.GOLD: 3, PartnerTier.SILVER: 2, PartnerTier.REGISTERED: 1}


class RuleKind(StrEnum):
    INTERNAL = "internal"  # round robin among users
    PARTNER = "partner"  # distribution to partners


class RoutingOutcome(StrEnum):
    ASSIGNED = "assigned"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    UNROUTED = "unrouted"
    MANUAL = "manual"


class RoutingRule(Protected, TenantScoped, Timestamped, Base):
    """One routing rule; rules are tried by position until one places the lead."""

    __resource__ = Resource.ROUTING_RULE

    __tablename__ = "routing_rule"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "territory_id"], ["territory.tenant_id", "territory.id"]),
        Index("ix_routing_rule_position", "tenant_id", "position"),
    )

    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[RuleKind] = mapped_column(Enum(RuleKind, name="routing_rule_kind"))
    territory_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)  # leads in this subtree only
    interest: Mapped[str | None] = mapped_column(String(100), nullable=True)  # leads interested in this only
    user_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)  # the round-robin pool
    max_open_leads: Mapped[int | None] = mapped_column(Integer, nullable=True)  # capacity per user
    last_assigned_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class RoutingDecision(TenantScoped, Timestamped, Base):
    """What happened to a lead at one step of its routing, and why."""

    __tablename__ = "routing_decision"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "lead_id"], ["lead.tenant_id", "lead.id"], ondelete="CASCADE"),
        Index("ix_routing_decision_lead", "tenant_id", "lead_id", "created_at"),
    )

    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    rule_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    outcome: Mapped[RoutingOutcome] = mapped_column(Enum(RoutingOutcome, name="routing_outcome"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    reason: Mapped[str] = mapped_column(Text)


@dataclass
class NewRule:
    """A routing rule as an admin describes it."""

    name: str
    kind: RuleKind
    position: int
    territory_id: uuid.UUID | None = None
    interest: str | None = None
    user_ids: list[uuid.UUID] | None = None
    max_open_leads: int | None = None


def _decision(lead: Lead, outcome: RoutingOutcome, reason: str, **ids: uuid.UUID | None) -> RoutingDecision:
    return RoutingDecision(
        tenant_id=lead.tenant_id, id=uuid.uuid4(), lead_id=lead.id, outcome=outcome, reason=reason, **ids
    )


async def _territory_paths(tenant: UnitOfWork) -> dict[uuid.UUID, tuple[str, str]]:
    stmt = tenant.visible_columns(Territory, Territory.id, Territory.path, Territory.name)
    return {tid: (path, name) for tid, path, name in await tenant.session.execute(stmt)}


def _in_territory(lead: Lead, territory_id: uuid.UUID | None, paths: dict[uuid.UUID, tuple[str, str]]) -> bool:
    if territory_id is None:
        return True
    if lead.territory_id is None or lead.territory_id not in paths or territory_id not in paths:
        return False
    return paths[lead.territory_id][0].startswith(paths[territory_id][0])


async def _try_internal(tenant: UnitOfWork, rule: RoutingRule, lead: Lead) -> RoutingDecision | None:
    pool = list(rule.user_ids or [])
    if not pool:
        return None
    active_users = tenant.visible_columns(User, User.id).where(User.id.in_(pool), User.is_active)
    active = set((await tenant.session.execute(active_users)).scalars())
    assigned = (
        tenant.visible_columns(Lead, Lead.owner_id, func.count())
        .where(Lead.owner_id.in_(pool), Lead.status == LeadStatus.ASSIGNED)
        .group_by(Lead.owner_id)
    )
    open_counts: dict[uuid.UUID, int] = {owner: n for owner, n in await tenant.session.execute(assigned)}
    start = (pool.index(rule.last_assigned_user_id) + 1) if rule.last_assigned_user_id in pool else 0
    for offset in range(len(pool)):
        user_id = pool[(start + offset) % len(pool)]
        open_now = open_counts.get(user_id, 0)
        if user_id in active and (rule.max_open_leads is None or open_now < rule.max_open_leads):
            lead.owner_id, lead.status, lead.partner_organization_id = user_id, LeadStatus.ASSIGNED, None
            rule.last_assigned_user_id = user_id
            capacity = f"{open_now}/{rule.max_open_leads}" if rule.max_open_leads is not None else f"{open_now}"
            skipped = offset and f", skipping {offset} at capacity or inactive" or ""
            reason = f"rule '{rule.name}': round robin, next in turn{skipped}; {capacity} open leads before this"
            return _decision(lead, RoutingOutcome.ASSIGNED, reason, rule_id=rule.id, user_id=user_id)
    return None


async def _try_partner(
    tenant: UnitOfWork, rule: RoutingRule, lead: Lead, paths: dict[uuid.UUID, tuple[str, str]], sla_hours: int
) -> RoutingDecision | None:
    candidates = tenant.visible(Organization).where(
        Organization.status == OrganizationStatus.ACTIVE,
        Organization.kind != OrganizationKind.ENTERPRISE,
        Organization.id.not_in(lead.declined_by or [uuid.uuid4()]),
    )
    partners = (await tenant.session.execute(candidates)).scalars().all()
    offered = (
        tenant.visible_columns(Lead, Lead.partner_organization_id, func.count())
        .where(Lead.status.in_([LeadStatus.OFFERED, LeadStatus.ACCEPTED]))
        .group_by(Lead.partner_organization_id)
    )
    loads: dict[uuid.UUID | None, int] = {partner: n for partner, n in await tenant.session.execute(offered)}
    scored = []
    for org in partners:
        if not org.is_partner:
            continue
        regions = [r for r in org.region_ids or [] if r in paths]
        serves = lead.territory_id is None or any(_in_territory(lead, r, paths) for r in regions)
        shared = set(org.specializations or []) & set(lead.interests or [])
        if not serves or (lead.interests and not shared):
            continue
        weight = TIER_WEIGHT.get(org.tier or PartnerTier.REGISTERED, 1)
        load = loads.get(org.id, 0)
        scored.append((weight / (1 + load), org.name, org, weight, load, sorted(shared)))
    if not scored:
        return None
    scored.sort(key=lambda s: (-s[0], s[1]))
    score, _, org, weight, load, skills = scored[0]
    lead.partner_organization_id, lead.owner_id, lead.status = org.id, None, LeadStatus.OFFERED
    lead.offer_expires_at = utcnow() + timedelta(hours=sla_hours)
    region = paths[lead.territory_id][1] if lead.territory_id in paths else "any region"
    runners = "; ".join(f"{s[1]} {s[0]:.2f}" for s in scored[1:3]) or "none"
    specializes = f", specializes in {', '.join(skills)}" if skills else ""
    tier = (org.tier or PartnerTier.REGISTERED).value
    reason = (
        f"rule '{rule.name}': serves {region}{specializes}, {tier} tier (weight {weight}), {load} open leads: "
        f"score {score:.2f}; runners-up: {runners}; answer due within {sla_hours} h"
    )
    return _decision(lead, RoutingOutcome.OFFERED, reason, rule_id=rule.id, organization_id=org.id)


async def route(uow: UnitOfWork, lead: Lead) -> RoutingDecision:
    """Place a lead by the first rule that can; record the decision. The caller holds the lead's row lock.

    Routing weighs the whole tenant (every rule, partner, user and open lead), whoever's change set it off, so
    it reads through the tenant's system access rather than the actor's.
    """
    tenant = system_unit_of_work(uow.session, lead.tenant_id, "lead routing")
    active_rules = (
        tenant.visible(RoutingRule)
        .where(RoutingRule.is_active)
        .order_by(RoutingRule.position, RoutingRule.created_at)
        .with_for_update()
    )
    rules = (await tenant.session.execute(active_rules)).scalars().all()
    paths = await _territory_paths(tenant)
    sla = select(Tenant.partner_lead_sla_hours).where(Tenant.id == lead.tenant_id)
    sla_hours = (await tenant.session.execute(sla)).scalar_one()
    decision = None
    for rule in rules:
        if not _in_territory(lead, rule.territory_id, paths) or (rule.interest and rule.interest not in lead.interests):
            continue
        if rule.kind is RuleKind.INTERNAL:
            decision = await _try_internal(tenant, rule, lead)
        else:
            decision = await _try_partner(tenant, rule, lead, paths, sla_hours)
        if decision is not None:
            break
    if decision is None:
        lead.status, lead.owner_id, lead.partner_organization_id, lead.offer_expires_at = (
            LeadStatus.UNROUTED,
            None,
            None,
            None,
        )
        reason = f"no rule placed it ({len(rules)} rules tried); a manager assigns it by hand"
        decision = _decision(lead, RoutingOutcome.UNROUTED, reason)
    uow.session.add(decision)
    await uow.session.flush()
    return decision


async def _offered_lead(uow: UnitOfWork, lead_id: uuid.UUID) -> Lead:
    lead = await uow.get(Lead, lead_id, action=Action.UPDATE, for_update=True)
    if lead.status is not LeadStatus.OFFERED:
        accepted = lead.status is LeadStatus.ACCEPTED
        code = ChannelCode.LEAD_ALREADY_ACCEPTED if accepted else ChannelCode.LEAD_NOT_OFFERED
        raise Conflict(f"The lead is {lead.status.value}, not awaiting an answer.", field="id", code=code)
    if not uow.actor.is_partner:
        raise Forbidden("Only the partner the lead was offered to answers the offer.")
    return lead


async def accept(uow: UnitOfWork, lead_id: uuid.UUID) -> Lead:
    """The partner takes the offered lead."""
    lead = await _offered_lead(uow, lead_id)
    lead.status, lead.offer_expires_at = LeadStatus.ACCEPTED, None
    accepted = _decision(
        lead,
        RoutingOutcome.ACCEPTED,
        "accepted by the partner",
        organization_id=lead.partner_organization_id,
        decided_by_id=uow.actor.user_id,
    )
    uow.session.add(accepted)
    await uow.session.flush()
    audit_log.record(uow.session, uow.access, record_type="lead", record_id=lead.id, action="accepted")
    return lead


async def decline(uow: UnitOfWork, lead_id: uuid.UUID, reason: str | None) -> Lead:
    """The partner turns the lead down; it is remembered and the lead goes to the next match."""
    v = Validator()
    reason = v.require_text("reason", reason, max_length=2000)
    v.raise_if_any()
    lead = await _offered_lead(uow, lead_id)
    declined = lead.partner_organization_id
    lead.declined_by = [*(lead.declined_by or []), declined]  # type: ignore[list-item]
    uow.session.add(
        _decision(
            lead,
            RoutingOutcome.DECLINED,
            f"declined by the partner: {reason}",
            organization_id=declined,
            decided_by_id=uow.actor.user_id,
        )
    )
    await uow.session.flush()
    audit_log.record(uow.session, uow.access, record_type="lead", record_id=lead.id, action="declined", reason=reason)
    await route(uow, lead)
    return lead


async def expire_offers(session: AsyncSession, now: datetime | None = None) -> int:
    """Re-route every lead whose partner let the SLA pass without an answer (the scheduled job); how many.

    The job sweeps every tenant; each lead is then routed within its own tenant.
    """
    now = now or utcnow()
    overdue = across_tenants(
        select(Lead)
        .where(Lead.status == LeadStatus.OFFERED, Lead.offer_expires_at <= now)
        .with_for_update(skip_locked=True),
        "the scheduled job re-routes overdue lead offers of every tenant",
    )
    leads = (await session.execute(overdue)).scalars().all()
    for lead in leads:
        silent = lead.partner_organization_id
        lead.declined_by = [*(lead.declined_by or []), silent]
        session.add(
            _decision(
                lead,
                RoutingOutcome.EXPIRED,
                "no answer within the SLA; offered to the next match",
                organization_id=silent,
            )
        )
        await session.flush()
        await route(system_unit_of_work(session, lead.tenant_id, "lead offer expiry"), lead)
    return len(leads)


async def assign_by_hand(uow: UnitOfWork, lead_id: uuid.UUID, user_id: uuid.UUID, reason: str | None) -> Lead:
    """A manager assigns a lead to an internal user, whatever the rules would do."""
    if not uow.access.can(Resource.LEAD, Action.APPROVE):
        raise Forbidden("Only managers assign leads by hand.")
    v = Validator()
    reason = v.require_text("reason", reason, max_length=2000)
    v.raise_if_any()
    lead = await uow.get(Lead, lead_id, action=Action.APPROVE, for_update=True)
    if not lead.status.is_open:
        raise Conflict(f"A {lead.status.value} lead cannot be assigned.", field="id", code=ChannelCode.LEAD_CLOSED)
    user = await uow.get(User, user_id, field="userId")
    if not user.is_active:
        v.fail("userId", ErrorCode.INVALID, "That user is deactivated.")
        v.raise_if_any()
    lead.owner_id, lead.status, lead.partner_organization_id, lead.offer_expires_at = (
        user.id,
        LeadStatus.ASSIGNED,
        None,
        None,
    )
    uow.session.add(
        _decision(
            lead,
            RoutingOutcome.MANUAL,
            f"assigned by hand: {reason}",
            user_id=user.id,
            decided_by_id=uow.actor.user_id,
        )
    )
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="lead",
        record_id=lead.id,
        action="assigned",
        changes={"owner_id": {"old": None, "new": str(user.id)}},
        reason=reason,
    )
    return lead


async def create_rule(uow: UnitOfWork, cmd: NewRule) -> RoutingRule:
    """Add a routing rule (admins)."""
    if not uow.access.can(Resource.ROUTING_RULE, Action.CREATE):
        raise Forbidden("Only admins change routing rules.")
    v = Validator()
    name = v.require_text("name", cmd.name, max_length=200)
    if cmd.kind is RuleKind.INTERNAL and not cmd.user_ids:
        v.fail("userIds", ErrorCode.REQUIRED, "An internal rule needs the users it assigns to.")
    if cmd.max_open_leads is not None and cmd.max_open_leads < 1:
        v.fail("maxOpenLeads", ErrorCode.OUT_OF_RANGE, "maxOpenLeads must be at least 1.")
    if cmd.user_ids:
        users = uow.visible_columns(User, User.id).where(User.id.in_(cmd.user_ids))
        if set((await uow.session.execute(users)).scalars()) != set(cmd.user_ids):
            v.fail("userIds", ErrorCode.NOT_FOUND, "Some userIds are not users of this tenant.")
    v.raise_if_any()
    rule = RoutingRule(
        tenant_id=uow.tenant_id,
        id=uuid.uuid4(),
        position=cmd.position,
        name=name,
        kind=cmd.kind,
        territory_id=cmd.territory_id,
        interest=(cmd.interest or "").strip().lower() or None,
        user_ids=list(cmd.user_ids or []),
        max_open_leads=cmd.max_open_leads,
    )
    uow.session.add(rule)
    await uow.session.flush()
    created = audit_log.created_changes({"name": name, "kind": cmd.kind, "position": cmd.position})
    audit_log.record(
        uow.session, uow.access, record_type="routing_rule", record_id=rule.id, action="created", changes=created
    )
    return rule


async def set_partner_sla_hours(uow: UnitOfWork, hours: int) -> int:
    """Change how long partners have to answer an offered lead (tenant setting, admins)."""
    if not uow.access.can(Resource.ROUTING_RULE, Action.UPDATE):
        raise Forbidden("Only admins change the partner SLA.")
    if not 1 <= hours <= 24 * 30:
        v = Validator()
        v.fail("hours", ErrorCode.OUT_OF_RANGE, "hours must be between 1 and 720.")
        v.raise_if_any()
    tenant = await uow.session.get(Tenant, uow.tenant_id, with_for_update=True)
    assert tenant is not None
    before, tenant.partner_lead_sla_hours = tenant.partner_lead_sla_hours, hours
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="tenant",
        record_id=tenant.id,
        action="settings_changed",
        changes={"partner_lead_sla_hours": {"old": before, "new": hours}},
    )
    return hours


# --- Queries ---------------------------------------------------------------------------------


async def routing_of(uow: UnitOfWork, lead: Lead) -> list[RoutingDecision]:
    """Why a lead the actor sees went where it did, step by step: managers only, since the reasons compare partners."""
    if not uow.access.can(Resource.LEAD, Action.APPROVE):
        raise Forbidden("Routing reasons compare partners; only managers read them.")
    steps = (
        select(RoutingDecision)
        .where(RoutingDecision.tenant_id == lead.tenant_id, RoutingDecision.lead_id == lead.id)
        .order_by(RoutingDecision.created_at, RoutingDecision.id)
    )
    return list((await uow.session.execute(steps)).scalars())
