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

from domain.access.actor import Access, Action, Resource
from domain.access.visibility import get_or_raise
from domain.audit import trail as audit_log
from domain.channel.leads import Lead, LeadStatus
from domain.channel.organizations import Organization, OrganizationStatus, PartnerTier
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


class RoutingRule(TenantScoped, Timestamped, Base):
    """One routing rule; rules are tried by position until one places the lead."""

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
    return RoutingDecision(tenant_id=lead.tenant_id, id=uuid.uuid4(), lead_id=lead.id, outcome=outcome, reason=reason,
                           **ids)  # fmt: skip


async def _territory_paths(session: AsyncSession, tenant_id: uuid.UUID) -> dict[uuid.UUID, tuple[str, str]]:
    rows = await session.execute(
        select(Territory.id, Territory.path, Territory.name).where(Territory.tenant_id == tenant_id)
    )
    return {tid: (path, name) for tid, path, name in rows}


def _in_territory(lead: Lead, territory_id: uuid.UUID | None, paths: dict[uuid.UUID, tuple[str, str]]) -> bool:
    if territory_id is None:
        return True
    if lead.territory_id is None or lead.territory_id not in paths or territory_id not in paths:
        return False
    return paths[lead.territory_id][0].startswith(paths[territory_id][0])


async def _try_internal(session: AsyncSession, rule: RoutingRule, lead: Lead) -> RoutingDecision | None:
    pool = list(rule.user_ids or [])
    if not pool:
        return None
    active_users = select(User.id).where(User.tenant_id == lead.tenant_id, User.id.in_(pool), User.is_active)
    active = set((await session.execute(active_users)).scalars())
    open_counts = dict(
        (
            await session.execute(
                select(Lead.owner_id, func.count())
                .where(Lead.tenant_id == lead.tenant_id, Lead.owner_id.in_(pool), Lead.status == LeadStatus.ASSIGNED)
                .group_by(Lead.owner_id)
            )
        ).all()
    )
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
    session: AsyncSession, rule: RoutingRule, lead: Lead, paths: dict[uuid.UUID, tuple[str, str]], sla_hours: int
) -> RoutingDecision | None:
    partners = (
        (
            await session.execute(
                select(Organization).where(
                    Organization.tenant_id == lead.tenant_id,
                    Organization.status == OrganizationStatus.ACTIVE,
                    Organization.kind != "ENTERPRISE",
                    Organization.id.not_in(lead.declined_by or [uuid.uuid4()]),
                )
            )
        )
        .scalars()
        .all()
    )
    loads = dict(
        (
            await session.execute(
                select(Lead.partner_organization_id, func.count())
                .where(Lead.tenant_id == lead.tenant_id, Lead.status.in_([LeadStatus.OFFERED, LeadStatus.ACCEPTED]))
                .group_by(Lead.partner_organization_id)
            )
        ).all()
    )
    scored = []
    for org in partners:
        if not org.is_partner:
            continue
        regions = [r for r in org.region_ids or [] if r in paths]
        serves = lead.territory_id is None or any(_in_territory(lead, r, paths) for r in regions)
        skills = set(org.specializations or []) & set(lead.interests or [])
        if not serves or (lead.interests and not skills):
            continue
        weight = TIER_WEIGHT.get(org.tier or PartnerTier.REGISTERED, 1)
        load = loads.get(org.id, 0)
        scored.append((weight / (1 + load), org.name, org, weight, load, sorted(skills)))
    if not scored:
        return None
    scored.sort(key=lambda s: (-s[0], s[1]))
    score, _, org, weight, load, skills = scored[0]
    lead.partner_organization_id, lead.owner_id, lead.status = org.id, None, LeadStatus.OFFERED
    lead.offer_expires_at = utcnow() + timedelta(hours=sla_hours)
    region = paths[lead.territory_id][1] if lead.territory_id in paths else "any region"
    runners = "; ".join(f"{s[1]} {s[0]:.2f}" for s in scored[1:3]) or "none"
    reason = (
        f"rule '{rule.name}': serves {region}" + (f", specializes in {', '.join(skills)}" if skills else "")
        + f", {(org.tier or PartnerTier.REGISTERED).value} tier (weight {weight}), {load} open leads: "
        f"score {score:.2f}; runners-up: {runners}; answer due within {sla_hours} h"
    )  # fmt: skip
    return _decision(lead, RoutingOutcome.OFFERED, reason, rule_id=rule.id, organization_id=org.id)


async def route(session: AsyncSession, lead: Lead) -> RoutingDecision:
    """Place a lead by the first rule that can; record the decision. The caller holds the lead's row lock."""
    tenant_id = lead.tenant_id
    rules = (
        (
            await session.execute(
                select(RoutingRule)
                .where(RoutingRule.tenant_id == tenant_id, RoutingRule.is_active)
                .order_by(RoutingRule.position, RoutingRule.created_at)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    paths = await _territory_paths(session, tenant_id)
    sla_hours = (
        await session.execute(select(Tenant.partner_lead_sla_hours).where(Tenant.id == tenant_id))
    ).scalar_one()
    decision = None
    for rule in rules:
        if not _in_territory(lead, rule.territory_id, paths) or (rule.interest and rule.interest not in lead.interests):
            continue
        if rule.kind is RuleKind.INTERNAL:
            decision = await _try_internal(session, rule, lead)
        else:
            decision = await _try_partner(session, rule, lead, paths, sla_hours)
        if decision is not None:
            break
    if decision is None:
        lead.status, lead.owner_id, lead.partner_organization_id, lead.offer_expires_at = (
            LeadStatus.UNROUTED, None, None, None,
        )  # fmt: skip
        decision = _decision(lead, RoutingOutcome.UNROUTED,
                             f"no rule placed it ({len(rules)} rules tried); a manager assigns it by hand")  # fmt: skip
    session.add(decision)
    await session.flush()
    return decision


async def _offered_lead(session: AsyncSession, access: Access, lead_id: uuid.UUID) -> Lead:
    lead = await get_or_raise(session, access, Lead, Resource.LEAD, lead_id, action=Action.UPDATE, for_update=True)
    if lead.status is not LeadStatus.OFFERED:
        raise Conflict(f"The lead is {lead.status.value}, not awaiting an answer.", field="id")
    if not access.actor.is_partner:
        raise Forbidden("Only the partner the lead was offered to answers the offer.")
    return lead


async def accept(session: AsyncSession, access: Access, lead_id: uuid.UUID) -> Lead:
    """The partner takes the offered lead."""
    lead = await _offered_lead(session, access, lead_id)
    lead.status, lead.offer_expires_at = LeadStatus.ACCEPTED, None
    accepted = _decision(lead, RoutingOutcome.ACCEPTED, "accepted by the partner",
                         organization_id=lead.partner_organization_id, decided_by_id=access.actor.user_id)  # fmt: skip
    session.add(accepted)
    await session.flush()
    audit_log.record(session, access, record_type="lead", record_id=lead.id, action="accepted")
    return lead


async def decline(session: AsyncSession, access: Access, lead_id: uuid.UUID, reason: str | None) -> Lead:
    """The partner turns the lead down; it is remembered and the lead goes to the next match."""
    v = Validator()
    reason = v.require_text("reason", reason, max_length=2000)
    v.raise_if_any()
    lead = await _offered_lead(session, access, lead_id)
    declined = lead.partner_organization_id
    lead.declined_by = [*(lead.declined_by or []), declined]  # type: ignore[list-item]
    session.add(_decision(lead, RoutingOutcome.DECLINED, f"declined by the partner: {reason}",
                          organization_id=declined, decided_by_id=access.actor.user_id))  # fmt: skip
    await session.flush()
    audit_log.record(session, access, record_type="lead", record_id=lead.id, action="declined", reason=reason)
    await route(session, lead)
    return lead


async def expire_offers(session: AsyncSession, now: datetime | None = None) -> int:
    """Re-route every lead whose partner let the SLA pass without an answer (the scheduled job); how many."""
    now = now or utcnow()
    leads = (
        (
            await session.execute(
                select(Lead)
                .where(Lead.status == LeadStatus.OFFERED, Lead.offer_expires_at <= now)
                .with_for_update(skip_locked=True)
            )
        )
        .scalars()
        .all()
    )
    for lead in leads:
        silent = lead.partner_organization_id
        lead.declined_by = [*(lead.declined_by or []), silent]  # type: ignore[list-item]
        session.add(_decision(lead, RoutingOutcome.EXPIRED, "no answer within the SLA; offered to the next match",
                              organization_id=silent))  # fmt: skip
        await session.flush()
        await route(session, lead)
    return len(leads)


async def assign_by_hand(
    session: AsyncSession, access: Access, lead_id: uuid.UUID, user_id: uuid.UUID, reason: str | None
) -> Lead:
    """A manager assigns a lead to an internal user, whatever the rules would do."""
    if not access.can(Resource.LEAD, Action.APPROVE):
        raise Forbidden("Only managers assign leads by hand.")
    v = Validator()
    reason = v.require_text("reason", reason, max_length=2000)
    v.raise_if_any()
    lead = await get_or_raise(session, access, Lead, Resource.LEAD, lead_id, action=Action.APPROVE, for_update=True)
    if not lead.status.is_open:
        raise Conflict(f"A {lead.status.value} lead cannot be assigned.", field="id")
    user = await get_or_raise(session, access, User, Resource.USER, user_id, field="userId")
    if not user.is_active:
        v.fail("userId", ErrorCode.INVALID, "That user is deactivated.")
        v.raise_if_any()
    lead.owner_id, lead.status, lead.partner_organization_id, lead.offer_expires_at = (
        user.id, LeadStatus.ASSIGNED, None, None,
    )  # fmt: skip
    session.add(_decision(lead, RoutingOutcome.MANUAL, f"assigned by hand: {reason}", user_id=user.id,
                          decided_by_id=access.actor.user_id))  # fmt: skip
    await session.flush()
    audit_log.record(session, access, record_type="lead", record_id=lead.id, action="assigned",
                     changes={"owner_id": {"old": None, "new": str(user.id)}}, reason=reason)  # fmt: skip
    return lead


async def create_rule(session: AsyncSession, access: Access, cmd: NewRule) -> RoutingRule:
    """Add a routing rule (admins)."""
    if not access.can(Resource.ROUTING_RULE, Action.CREATE):
        raise Forbidden("Only admins change routing rules.")
    v = Validator()
    name = v.require_text("name", cmd.name, max_length=200)
    if cmd.kind is RuleKind.INTERNAL and not cmd.user_ids:
        v.fail("userIds", ErrorCode.REQUIRED, "An internal rule needs the users it assigns to.")
    if cmd.max_open_leads is not None and cmd.max_open_leads < 1:
        v.fail("maxOpenLeads", ErrorCode.OUT_OF_RANGE, "maxOpenLeads must be at least 1.")
    if cmd.user_ids:
        found = set(
            (
                await session.execute(select(User.id).where(access.rows(Resource.USER), User.id.in_(cmd.user_ids)))
            ).scalars()
        )
        if found != set(cmd.user_ids):
            v.fail("userIds", ErrorCode.NOT_FOUND, "Some userIds are not users of this tenant.")
    v.raise_if_any()
    rule = RoutingRule(
        tenant_id=access.actor.tenant_id, id=uuid.uuid4(), position=cmd.position, name=name, kind=cmd.kind,
        territory_id=cmd.territory_id, interest=(cmd.interest or "").strip().lower() or None,
        user_ids=list(cmd.user_ids or []), max_open_leads=cmd.max_open_leads,
    )  # fmt: skip
    session.add(rule)
    await session.flush()
    created = audit_log.created_changes({"name": name, "kind": cmd.kind, "position": cmd.position})
    audit_log.record(session, access, record_type="routing_rule", record_id=rule.id, action="created", changes=created)
    return rule


async def set_partner_sla_hours(session: AsyncSession, access: Access, hours: int) -> int:
    """Change how long partners have to answer an offered lead (tenant setting, admins)."""
    if not access.can(Resource.ROUTING_RULE, Action.UPDATE):
        raise Forbidden("Only admins change the partner SLA.")
    if not 1 <= hours <= 24 * 30:
        v = Validator()
        v.fail("hours", ErrorCode.OUT_OF_RANGE, "hours must be between 1 and 720.")
        v.raise_if_any()
    tenant = await session.get(Tenant, access.actor.tenant_id, with_for_update=True)
    assert tenant is not None
    before, tenant.partner_lead_sla_hours = tenant.partner_lead_sla_hours, hours
    await session.flush()
    audit_log.record(session, access, record_type="tenant", record_id=tenant.id, action="settings_changed",
                     changes={"partner_lead_sla_hours": {"old": before, "new": hours}})  # fmt: skip
    return hours
