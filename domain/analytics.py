"""Forecasts and funnels, computed in SQL over the viewer's visible opportunities only.

Every aggregate starts from the same visibility predicate as the opportunity list, so no total
counts a deal the viewer could not open. Amounts are summed per currency: converting would need
exchange rates, which come from the ERP.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain.access import Access, Resource
from domain.errors import ErrorCode, Validator
from domain.money import check_currency
from domain.opportunities import ForecastCategory, Opportunity, OpportunityPartner, Stage
from domain.organizations import Organization, OrganizationKind
from domain.users import User

TWO_PLACES = Decimal("0.01")


@dataclass
class Totals:
    """Deals, their amount and their probability-weighted amount."""

    count: int = 0
    amount: Decimal = Decimal("0.00")
    weighted: Decimal = Decimal("0.00")

    def add(self, other: Totals) -> None:
        self.count += other.count
        self.amount += other.amount
        self.weighted += other.weighted


@dataclass
class ForecastRow:
    """One person's or partner's forecast by category: their own deals, and with everyone below them."""

    subject_id: uuid.UUID
    own: dict[ForecastCategory, Totals] = field(default_factory=lambda: defaultdict(Totals))
    rollup: dict[ForecastCategory, Totals] = field(default_factory=lambda: defaultdict(Totals))


@dataclass
class Forecast:
    currency: str
    by_category: dict[ForecastCategory, Totals]
    by_owner: list[ForecastRow]
    by_partner: list[ForecastRow]


def _period(v: Validator, start: date, end: date, currency: str) -> str:
    if end < start:
        v.fail("periodEnd", ErrorCode.OUT_OF_RANGE, "periodEnd must not be before periodStart.")
    elif (end - start).days > 731:
        v.fail("periodEnd", ErrorCode.OUT_OF_RANGE, "A period is at most two years.")
    code = check_currency(v, "currency", currency) or ""
    v.raise_if_any()
    return code


def _totals(count: int, amount: Decimal | None, weighted: Decimal | None) -> Totals:
    return Totals(count, (amount or Decimal(0)).quantize(TWO_PLACES), (weighted or Decimal(0)).quantize(TWO_PLACES))


WEIGHTED = func.sum(Opportunity.amount * Opportunity.probability / 100)


async def forecast(session: AsyncSession, access: Access, start: date, end: date, currency: str) -> Forecast:
    """Deals closing in the period, by forecast category; per owner up the manager tree, per partner up its tree."""
    code = _period(Validator(), start, end, currency)
    in_period = and_(
        access.rows(Resource.OPPORTUNITY), Opportunity.close_date >= start, Opportunity.close_date <= end,
        Opportunity.currency == code,
    )  # fmt: skip
    by_category: dict[ForecastCategory, Totals] = {c: Totals() for c in ForecastCategory}
    owners: dict[uuid.UUID, ForecastRow] = {}
    rows = await session.execute(
        select(
            Opportunity.owner_id, Opportunity.forecast_category, func.count(), func.sum(Opportunity.amount), WEIGHTED
        )
        .where(in_period)
        .group_by(Opportunity.owner_id, Opportunity.forecast_category)
    )
    for owner_id, category, count, amount, weighted in rows:
        totals = _totals(count, amount, weighted)
        by_category[category].add(totals)
        owners.setdefault(owner_id, ForecastRow(owner_id)).own[category].add(totals)
    by_owner = await _roll_up_managers(session, access, owners)
    by_partner = await _partner_forecast(session, access, in_period)
    return Forecast(code, by_category, by_owner, by_partner)


async def _roll_up_managers(
    session: AsyncSession, access: Access, owners: dict[uuid.UUID, ForecastRow]
) -> list[ForecastRow]:
    """Each visible user's own totals and their whole reporting line's, for users with any."""
    managers = dict((await session.execute(select(User.id, User.manager_id).where(access.rows(Resource.USER)))).all())
    rows: dict[uuid.UUID, ForecastRow] = {}
    for owner_id, row in owners.items():
        if owner_id not in managers:
            continue  # an owner the viewer may not see is counted in the totals, never named
        rows.setdefault(owner_id, ForecastRow(owner_id)).own = row.own
        seen: set[uuid.UUID] = set()
        current: uuid.UUID | None = owner_id
        while current is not None and current in managers and current not in seen:
            seen.add(current)
            target = rows.setdefault(current, ForecastRow(current))
            for category, totals in row.own.items():
                target.rollup[category].add(totals)
            current = managers[current]
    return sorted(rows.values(), key=lambda r: -sum((t.amount for t in r.rollup.values()), Decimal(0)))


async def _partner_forecast(session: AsyncSession, access: Access, in_period: object) -> list[ForecastRow]:
    """For each visible partner: deals linked to it, and deals linked to it or any partner below it (each once)."""
    root, linked_org = aliased(Organization), aliased(Organization)
    subtree = (
        select(root.id.label("root_id"), OpportunityPartner.opportunity_id.label("opportunity_id"),
               func.bool_or(linked_org.id == root.id).label("direct"))
        .join(linked_org, and_(linked_org.tenant_id == root.tenant_id, linked_org.path.startswith(root.path)))
        .join(OpportunityPartner, and_(OpportunityPartner.tenant_id == linked_org.tenant_id,
                                       OpportunityPartner.organization_id == linked_org.id))
        .where(root.tenant_id == access.actor.tenant_id, root.kind != OrganizationKind.ENTERPRISE,
               root.id.in_(select(Organization.id).where(access.rows(Resource.ORGANIZATION))))
        .group_by(root.id, OpportunityPartner.opportunity_id)
        .subquery()
    )  # fmt: skip
    rows = await session.execute(
        select(subtree.c.root_id, Opportunity.forecast_category, subtree.c.direct, func.count(),
               func.sum(Opportunity.amount), WEIGHTED)
        .join(Opportunity, Opportunity.id == subtree.c.opportunity_id)
        .where(in_period)
        .group_by(subtree.c.root_id, Opportunity.forecast_category, subtree.c.direct)
    )  # fmt: skip
    partners: dict[uuid.UUID, ForecastRow] = {}
    for root_id, category, direct, count, amount, weighted in rows:
        row = partners.setdefault(root_id, ForecastRow(root_id))
        totals = _totals(count, amount, weighted)
        row.rollup[category].add(totals)
        if direct:
            row.own[category].add(totals)
    return sorted(partners.values(), key=lambda r: -sum((t.amount for t in r.rollup.values()), Decimal(0)))


@dataclass
class FunnelStage:
    stage: Stage
    totals: Totals


@dataclass
class Funnel:
    currency: str
    stages: list[FunnelStage]
    win_rate: float | None  # won ÷ (won + lost) among deals closing in the period
    average_cycle_days: float | None  # creation to close date, won deals


async def funnel(session: AsyncSession, access: Access, start: date, end: date, currency: str) -> Funnel:
    """Count and amount per stage of the visible deals closing in the period, with win rate and cycle length."""
    code = _period(Validator(), start, end, currency)
    in_period = and_(
        access.rows(Resource.OPPORTUNITY), Opportunity.close_date >= start, Opportunity.close_date <= end,
        Opportunity.currency == code,
    )  # fmt: skip
    counts = {
        stage: _totals(count, amount, weighted)
        for stage, count, amount, weighted in await session.execute(
            select(Opportunity.stage, func.count(), func.sum(Opportunity.amount), WEIGHTED)
            .where(in_period)
            .group_by(Opportunity.stage)
        )
    }
    stages = [FunnelStage(stage, counts.get(stage, Totals())) for stage in Stage]
    won, lost = counts.get(Stage.CLOSED_WON, Totals()).count, counts.get(Stage.CLOSED_LOST, Totals()).count
    cycle = (
        await session.execute(
            select(func.avg(Opportunity.close_date - func.date(Opportunity.created_at))).where(
                in_period, Opportunity.stage == Stage.CLOSED_WON
            )
        )
    ).scalar_one()
    return Funnel(code, stages, won / (won + lost) if won + lost else None, float(cycle) if cycle is not None else None)
