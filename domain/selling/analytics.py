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
from typing import Any

from sqlalchemy import (
    CHAR,
    ColumnElement,
    Date,
    ForeignKeyConstraint,
    Index,
    Numeric,
    Select,
    Text,
    Uuid,
    and_,
    func,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ENUM
from sqlalchemy.orm import Mapped, aliased, mapped_column

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import UnitOfWork
from domain.audit import trail as audit_log
from domain.audit.trail import AuditEvent
from domain.channel.organizations import Organization, OrganizationKind
from domain.identity.users import User
from domain.selling.opportunities import Opportunity, OpportunityPartner
from domain.selling.pipelines import Pipeline
from domain.selling.stages import ForecastCategory, Stage
from domain.selling.territories import Territory
from domain.shared.base import Base, TenantScoped, Timestamped
from domain.shared.errors import ErrorCode, Forbidden, NotFound, Validator
from domain.shared.money import check_amount, check_currency

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
    """The forecast of a period in one currency: by category, per owner up the managers, per partner up its tree."""

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


@dataclass(frozen=True)
class Slice:
    """Optional narrowing of an analysis: a territory subtree, a partner subtree, a pipeline."""

    territory_id: uuid.UUID | None = None
    partner_id: uuid.UUID | None = None
    pipeline_id: uuid.UUID | None = None

    def predicate(self, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        """The deals within the slice (the caller has checked the slice names records the viewer can see)."""
        conditions: list[ColumnElement[bool]] = []
        if self.territory_id is not None:
            path = select(Territory.path).where(Territory.tenant_id == tenant_id, Territory.id == self.territory_id)
            subtree = select(Territory.id).where(
                Territory.tenant_id == tenant_id, Territory.path.startswith(path.scalar_subquery())
            )
            conditions.append(Opportunity.territory_id.in_(subtree))
        if self.partner_id is not None:
            path = select(Organization.path).where(
                Organization.tenant_id == tenant_id, Organization.id == self.partner_id
            )
            subtree = select(Organization.id).where(
                Organization.tenant_id == tenant_id, Organization.path.startswith(path.scalar_subquery())
            )
            linked = select(OpportunityPartner.opportunity_id).where(
                OpportunityPartner.tenant_id == tenant_id, OpportunityPartner.organization_id.in_(subtree)
            )
            conditions.append(Opportunity.id.in_(linked))
        if self.pipeline_id is not None:
            conditions.append(Opportunity.pipeline_id == self.pipeline_id)
        return and_(true(), *conditions)


async def _check_slice(uow: UnitOfWork, slice_: Slice) -> None:
    """Refuse a slice naming a territory, partner or pipeline the viewer cannot see, as any reference would be."""
    checks: list[tuple[Select[Any], str, str]] = []
    if slice_.territory_id is not None:
        territory = uow.visible_columns(Territory, Territory.id).where(Territory.id == slice_.territory_id)
        checks.append((territory, "territory", "territoryId"))
    if slice_.partner_id is not None:
        partner = uow.visible_columns(Organization, Organization.id).where(Organization.id == slice_.partner_id)
        checks.append((partner, "organization", "partnerOrganizationId"))
    if slice_.pipeline_id is not None:
        pipeline = select(Pipeline.id).where(Pipeline.tenant_id == uow.tenant_id, Pipeline.id == slice_.pipeline_id)
        checks.append((pipeline, "pipeline", "pipelineId"))
    for found, label, field_name in checks:
        if await uow.session.scalar(found) is None:
            raise NotFound(f"No {label} with that {field_name}.", field=field_name)


def _visible_in_period(uow: UnitOfWork, start: date, end: date, currency: str, slice_: Slice) -> ColumnElement[bool]:
    """The visible deals in the currency, closing within the period, within the slice."""
    return and_(
        uow.rows(Opportunity),
        Opportunity.close_date >= start,
        Opportunity.close_date <= end,
        Opportunity.currency == currency,
        slice_.predicate(uow.tenant_id),
    )


def period_currency(start: date, end: date, currency: str) -> str:
    """The currency code of a valid period (at most two years, end not before start); ValidationFailed otherwise."""
    return _period(Validator(), start, end, currency)


def category_totals(uow: UnitOfWork, start: date, end: date, currency: str) -> Select[Any]:
    """Per forecast category, the visible deals closing in the period: category, count, amount, weighted amount.

    The sums as the database adds them, before `_totals` rounds them to the cent (half to even).
    """
    return uow.mark(
        select(
            Opportunity.forecast_category.label("category"),
            func.count().label("count"),
            func.sum(Opportunity.amount).label("amount"),
            WEIGHTED.label("weighted"),
        )
        .where(_visible_in_period(uow, start, end, currency, Slice()))
        .group_by(Opportunity.forecast_category)
    )


async def forecast(uow: UnitOfWork, start: date, end: date, currency: str, slice_: Slice = Slice()) -> Forecast:
    """Deals closing in the period, by forecast category; per owner up the manager tree, per partner up its tree."""
    code = _period(Validator(), start, end, currency)
    await _check_slice(uow, slice_)
    in_period = _visible_in_period(uow, start, end, code, slice_)
    by_category: dict[ForecastCategory, Totals] = {c: Totals() for c in ForecastCategory}
    owners: dict[uuid.UUID, ForecastRow] = {}
    rows = await uow.session.execute(
        uow.mark(
            select(
                Opportunity.owner_id,
                Opportunity.forecast_category,
                func.count(),
                func.sum(Opportunity.amount),
                WEIGHTED,
            )
            .where(in_period)
            .group_by(Opportunity.owner_id, Opportunity.forecast_category)
        )
    )
    for owner_id, category, count, amount, weighted in rows:
        totals = _totals(count, amount, weighted)
        by_category[category].add(totals)
        owners.setdefault(owner_id, ForecastRow(owner_id)).own[category].add(totals)
    by_owner = await _roll_up_managers(uow, owners)
    by_partner = await _partner_forecast(uow, in_period)
    return Forecast(code, by_category, by_owner, by_partner)


async def _roll_up_managers(uow: UnitOfWork, owners: dict[uuid.UUID, ForecastRow]) -> list[ForecastRow]:
    """Each visible user's own totals and their whole reporting line's, for users with any."""
    managers = dict((await uow.session.execute(uow.visible_columns(User, User.id, User.manager_id))).all())
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


async def _partner_forecast(uow: UnitOfWork, in_period: ColumnElement[bool]) -> list[ForecastRow]:
    """For each visible partner: deals linked to it, and deals linked to it or any partner below it (each once)."""
    root, linked_org = aliased(Organization), aliased(Organization)
    subtree = (
        select(
            root.id.label("root_id"),
            OpportunityPartner.opportunity_id.label("opportunity_id"),
            func.bool_or(linked_org.id == root.id).label("direct"),
        )
        .join(linked_org, and_(linked_org.tenant_id == root.tenant_id, linked_org.path.startswith(root.path)))
        .join(
            OpportunityPartner,
            and_(
                OpportunityPartner.tenant_id == linked_org.tenant_id,
                OpportunityPartner.organization_id == linked_org.id,
            ),
        )
        .where(
            root.tenant_id == uow.tenant_id,
            root.kind != OrganizationKind.ENTERPRISE,
            root.id.in_(uow.visible_columns(Organization, Organization.id)),
        )
        .group_by(root.id, OpportunityPartner.opportunity_id)
        .subquery()
    )
    rows = await uow.session.execute(
        uow.mark(
            select(
                subtree.c.root_id,
                Opportunity.forecast_category,
                subtree.c.direct,
                func.count(),
                func.sum(Opportunity.amount),
                WEIGHTED,
            )
            .join(Opportunity, Opportunity.id == subtree.c.opportunity_id)
            .where(in_period)
            .group_by(subtree.c.root_id, Opportunity.forecast_category, subtree.c.direct)
        )
    )
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
    """Deals at one stage, with how many moved on from it and how long they stayed."""

    stage: Stage
    totals: Totals
    conversion_rate: float | None = None  # of deals that were in this stage, the share that went on to a later one
    average_days: float | None = None  # of finished stays in this stage


async def _stage_history(uow: UnitOfWork, deals: Select[Any]) -> dict[Stage, tuple[float | None, float | None]]:
    """Conversion and average stay per stage, from the audit trail's stage moves of the given (visible) deals."""
    opportunities = {
        o.id: o
        for o in (await uow.session.execute(uow.visible(Opportunity).where(Opportunity.id.in_(deals)))).scalars()
    }
    # The stage moves of deals the viewer may see are their funnel's history: the audit trail's own reading
    # rights do not apply, and only the stage field of each move is used.
    moves = await uow.session.execute(
        uow.mark(
            select(AuditEvent.record_id, AuditEvent.occurred_at, AuditEvent.changes)
            .where(
                AuditEvent.tenant_id == uow.tenant_id,
                AuditEvent.record_type == "opportunity",
                AuditEvent.action == "stage_moved",
                AuditEvent.record_id.in_(deals),
            )
            .order_by(AuditEvent.record_id, AuditEvent.occurred_at, AuditEvent.id)
        )
    )
    visits: dict[uuid.UUID, list[tuple[Stage, Any]]] = defaultdict(list)
    for record_id, when, changes in moves:
        stage = changes.get("stage") or {}
        if not visits[record_id] and stage.get("old"):
            visits[record_id].append((Stage(stage["old"]), opportunities[record_id].created_at))
        if stage.get("new"):
            visits[record_id].append((Stage(stage["new"]), when))
    for opp_id, opp in opportunities.items():
        if not visits[opp_id]:
            visits[opp_id].append((opp.stage, opp.created_at))
    order = list(Stage)
    entered: dict[Stage, int] = defaultdict(int)
    moved_on: dict[Stage, int] = defaultdict(int)
    stays: dict[Stage, list[float]] = defaultdict(list)
    for path in visits.values():
        for index, (stage, since) in enumerate(path):
            if index + 1 < len(path):
                stays[stage].append((path[index + 1][1] - since).total_seconds() / 86400)
        for stage in {s for s, _ in path}:
            entered[stage] += 1
            later = [s for s, _ in path[[s for s, _ in path].index(stage) + 1 :]]
            if any(s is Stage.CLOSED_WON or (not s.is_closed and order.index(s) > order.index(stage)) for s in later):
                moved_on[stage] += 1
    return {
        stage: (
            moved_on[stage] / entered[stage] if entered[stage] and not stage.is_closed else None,
            sum(stays[stage]) / len(stays[stage]) if stays[stage] else None,
        )
        for stage in Stage
    }


@dataclass
class Funnel:
    """The funnel of a period in one currency."""

    currency: str
    stages: list[FunnelStage]
    win_rate: float | None  # won ÷ (won + lost) among deals closing in the period
    average_cycle_days: float | None  # creation to close date, won deals


async def funnel(uow: UnitOfWork, start: date, end: date, currency: str, slice_: Slice = Slice()) -> Funnel:
    """Count and amount per stage of the visible deals closing in the period, with win rate and cycle length."""
    code = _period(Validator(), start, end, currency)
    await _check_slice(uow, slice_)
    in_period = _visible_in_period(uow, start, end, code, slice_)
    per_stage = uow.mark(
        select(Opportunity.stage, func.count(), func.sum(Opportunity.amount), WEIGHTED)
        .where(in_period)
        .group_by(Opportunity.stage)
    )
    counts = {
        stage: _totals(count, amount, weighted)
        for stage, count, amount, weighted in await uow.session.execute(per_stage)
    }
    history = await _stage_history(uow, uow.mark(select(Opportunity.id).where(in_period)))
    stages = [FunnelStage(stage, counts.get(stage, Totals()), *history[stage]) for stage in Stage]
    won, lost = counts.get(Stage.CLOSED_WON, Totals()).count, counts.get(Stage.CLOSED_LOST, Totals()).count
    cycle = await uow.session.scalar(
        uow.mark(
            select(func.avg(Opportunity.close_date - func.date(Opportunity.created_at))).where(
                in_period, Opportunity.stage == Stage.CLOSED_WON
            )
        )
    )
    return Funnel(code, stages, won / (won + lost) if won + lost else None, float(cycle) if cycle is not None else None)


class ForecastAdjustment(TenantScoped, Timestamped, Base):
    """A manager's own call on a forecast category for a period; the computed figure stays alongside it."""

    __tablename__ = "forecast_adjustment"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "manager_id"], ["app_user.tenant_id", "app_user.id"], ondelete="CASCADE"),
        Index("ix_forecast_adjustment_period", "tenant_id", "manager_id", "period_start", "period_end", "currency"),
    )

    manager_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(CHAR(3))
    category: Mapped[ForecastCategory] = mapped_column(
        ENUM(ForecastCategory, name="forecast_category", create_type=False)
    )
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    note: Mapped[str] = mapped_column(Text)


async def adjust_forecast(
    uow: UnitOfWork,
    start: date,
    end: date,
    currency: str,
    category: ForecastCategory,
    amount: Decimal,
    note: str | None,
) -> ForecastAdjustment:
    """A manager records their own figure for a category of their line's forecast, with a note."""
    actor = uow.actor
    if actor.user_id is None or actor.is_partner or not uow.access.can(Resource.OPPORTUNITY, Action.APPROVE):
        raise Forbidden("Only managers adjust forecasts.")
    v = Validator()
    code = _period(v, start, end, currency)
    value = check_amount(v, "amount", amount)
    clean = v.require_text("note", note, max_length=2000)
    v.raise_if_any()
    adjustment = ForecastAdjustment(
        tenant_id=actor.tenant_id,
        id=uuid.uuid4(),
        manager_id=actor.user_id,
        period_start=start,
        period_end=end,
        currency=code,
        category=category,
        amount=value,
        note=clean,
    )
    uow.session.add(adjustment)
    await uow.session.flush()
    changes = audit_log.created_changes({"category": category, "amount": value})
    audit_log.record(
        uow.session,
        uow.access,
        record_type="forecast_adjustment",
        record_id=adjustment.id,
        action="created",
        changes=changes,
        reason=clean,
    )
    return adjustment


async def adjustments_for(
    uow: UnitOfWork, manager_ids: list[uuid.UUID], start: date, end: date, currency: str
) -> dict[uuid.UUID, list[ForecastAdjustment]]:
    """Adjustments of these (visible) managers for exactly this period and currency, newest first."""
    found = await uow.session.execute(
        select(ForecastAdjustment)
        .where(
            ForecastAdjustment.tenant_id == uow.tenant_id,
            ForecastAdjustment.manager_id.in_(manager_ids),
            ForecastAdjustment.period_start == start,
            ForecastAdjustment.period_end == end,
            ForecastAdjustment.currency == currency.upper(),
        )
        .order_by(ForecastAdjustment.created_at.desc(), ForecastAdjustment.id)
    )
    grouped: dict[uuid.UUID, list[ForecastAdjustment]] = defaultdict(list)
    for row in found.scalars():
        grouped[row.manager_id].append(row)
    return grouped


@dataclass(frozen=True)
class ForecastWithAdjustments:
    """A forecast and, for each person in it, their adjustments of the same period and currency."""

    forecast: Forecast
    adjustments: dict[uuid.UUID, list[ForecastAdjustment]]


async def forecast_with_adjustments(
    uow: UnitOfWork, start: date, end: date, currency: str, slice_: Slice = Slice()
) -> ForecastWithAdjustments:
    """The forecast of the period, with the adjustments its people made to it."""
    result = await forecast(uow, start, end, currency, slice_)
    owners = [row.subject_id for row in result.by_owner]
    return ForecastWithAdjustments(result, await adjustments_for(uow, owners, start, end, currency))


@dataclass
class LeaderboardEntry:
    """An owner's closed-won business in a period."""

    owner_id: uuid.UUID
    won: Totals


async def leaderboard(
    uow: UnitOfWork, start: date, end: date, currency: str, limit: int = 10, slice_: Slice = Slice()
) -> list[LeaderboardEntry]:
    """Owners by amount closed won in the period, among visible deals and visible owners."""
    code = _period(Validator(), start, end, currency)
    await _check_slice(uow, slice_)
    rows = await uow.session.execute(
        uow.mark(
            select(Opportunity.owner_id, func.count(), func.sum(Opportunity.amount), WEIGHTED)
            .where(
                uow.rows(Opportunity),
                Opportunity.stage == Stage.CLOSED_WON,
                Opportunity.currency == code,
                Opportunity.close_date >= start,
                Opportunity.close_date <= end,
                Opportunity.owner_id.in_(uow.visible_columns(User, User.id)),
                slice_.predicate(uow.tenant_id),
            )
            .group_by(Opportunity.owner_id)
            .order_by(func.sum(Opportunity.amount).desc(), Opportunity.owner_id)
            .limit(max(1, min(limit, 100)))
        )
    )
    return [LeaderboardEntry(owner, _totals(count, amount, weighted)) for owner, count, amount, weighted in rows]
