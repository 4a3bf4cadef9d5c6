"""Forecast and funnel queries; every number is built from the viewer's visible deals only."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.graphql.channel.directory.types import OrganizationType, TerritoryType, UserType
from api.graphql.descriptions import described_arguments
from api.graphql.errors import UserError, query_value
from api.graphql.mutation import mutate
from api.graphql.relay import id_of, optional_id_of
from api.graphql.resolving import load, read
from api.graphql.selling.opportunities.types import ForecastCategoryType, Money, StageType
from domain.access.unit_of_work import UnitOfWork
from domain.selling import analytics, quotas
from domain.selling.stages import ForecastCategory
from domain.shared.errors import ErrorCode, FieldError, ValidationFailed


@strawberry.type(description="Deals in one bucket: how many, their amount, and their probability-weighted amount.")
class ForecastBucket:
    category: ForecastCategoryType = strawberry.field(description="Forecast category.")
    count: int = strawberry.field(description="Number of deals.")
    amount: Decimal = strawberry.field(description="Sum of amounts.")
    weighted_amount: Decimal = strawberry.field(description="Sum of amount × probability.")


def _buckets(by: dict[ForecastCategory, analytics.Totals]) -> list[ForecastBucket]:
    return [
        ForecastBucket(category=c, count=by[c].count, amount=by[c].amount, weighted_amount=by[c].weighted)
        for c in ForecastCategory
        if c in by and by[c].count
    ]


@strawberry.type(name="ForecastAdjustment", description="A manager's own figure for a category, with their note.")
class ForecastAdjustmentType:
    row: strawberry.Private[analytics.ForecastAdjustment]

    @strawberry.field(description="The category adjusted.")
    def category(self) -> ForecastCategoryType:
        return self.row.category

    @strawberry.field(description="The manager's figure.")
    def amount(self) -> Decimal:
        return self.row.amount

    @strawberry.field(description="Why.")
    def note(self) -> str:
        return self.row.note

    @strawberry.field(description="When (UTC).")
    def created_at(self) -> datetime.datetime:
        return self.row.created_at


@strawberry.type(description="A person's forecast: their own deals, and their whole reporting line's.")
class OwnerForecast:
    row: strawberry.Private[analytics.ForecastRow]
    adjustment_rows: strawberry.Private[list[analytics.ForecastAdjustment]]

    @strawberry.field(description="Their adjustments for this period and currency, newest first (history kept).")
    def adjustments(self) -> list[ForecastAdjustmentType]:
        return [ForecastAdjustmentType(row=a) for a in self.adjustment_rows]

    @strawberry.field(
        description="The rollup with their latest adjustment in place of each adjusted category's amount; "
        "`rollup` keeps the computed figures."
    )
    def adjusted(self) -> list[ForecastBucket]:
        latest: dict[ForecastCategory, Decimal] = {}
        for adjustment in self.adjustment_rows:
            latest.setdefault(adjustment.category, adjustment.amount)
        buckets = []
        for category in ForecastCategory:
            totals = self.row.rollup.get(category)
            if totals is None and category not in latest:
                continue
            count, amount, weighted = (
                (totals.count, totals.amount, totals.weighted) if totals else (0, Decimal("0.00"), Decimal("0.00"))
            )
            buckets.append(
                ForecastBucket(
                    category=category, count=count, amount=latest.get(category, amount), weighted_amount=weighted
                )
            )
        return buckets

    @strawberry.field(description="The person.")
    async def user(self, info: Info) -> UserType | None:
        found = await load(info, "User", self.row.subject_id)
        return UserType.from_row(found) if found else None

    @strawberry.field(description="Deals they own.")
    def own(self) -> list[ForecastBucket]:
        return _buckets(self.row.own)

    @strawberry.field(description="Deals owned by them or anyone reporting to them, directly or not.")
    def rollup(self) -> list[ForecastBucket]:
        return _buckets(self.row.rollup)


@strawberry.type(description="A partner's forecast: deals linked to it, and to it or any partner below it.")
class PartnerForecast:
    row: strawberry.Private[analytics.ForecastRow]

    @strawberry.field(description="The partner.")
    async def organization(self, info: Info) -> OrganizationType | None:
        found = await load(info, "Organization", self.row.subject_id)
        return OrganizationType.from_row(found) if found else None

    @strawberry.field(description="Deals linked to this partner itself.")
    def own(self) -> list[ForecastBucket]:
        return _buckets(self.row.own)

    @strawberry.field(description="Deals linked to it or any partner below it, each counted once.")
    def rollup(self) -> list[ForecastBucket]:
        return _buckets(self.row.rollup)


@strawberry.type(description="The forecast of the deals closing in a period, in one currency.")
class Forecast:
    currency: str = strawberry.field(description="The currency of every amount here.")
    by_category: list[ForecastBucket] = strawberry.field(description="Totals by forecast category.")
    by_owner: list[OwnerForecast] = strawberry.field(description="Per person, up the manager hierarchy.")
    by_partner: list[PartnerForecast] = strawberry.field(description="Per partner, up the partner tree.")


@strawberry.type(description="Deals at one stage.")
class FunnelStage:
    stage: StageType = strawberry.field(description="The stage.")
    count: int = strawberry.field(description="Number of deals.")
    amount: Decimal = strawberry.field(description="Sum of amounts.")
    weighted_amount: Decimal = strawberry.field(description="Sum of amount × probability.")
    conversion_rate: float | None = strawberry.field(
        description="Of the deals that were in this stage, the share that went on to a later one or won "
        "(from the stage history); null for closed stages or when none was in it."
    )
    average_days_in_stage: float | None = strawberry.field(description="Average length of finished stays, in days.")


@strawberry.type(description="The funnel of the deals closing in a period, in one currency.")
class Funnel:
    currency: str = strawberry.field(description="The currency of every amount here.")
    stages: list[FunnelStage] = strawberry.field(description="Every stage, in order.")
    win_rate: float | None = strawberry.field(description="Won ÷ (won + lost); null when none closed.")
    average_cycle_days: float | None = strawberry.field(description="Average days from creation to close, won deals.")


@strawberry.type
class AnalyticsQueries:
    @described_arguments(
        period_start="First day of the period (inclusive).",
        period_end="Last day of the period (inclusive).",
        currency="ISO 4217 code; only deals in this currency count (amounts are never converted).",
        territory_id="Only deals in this territory or below it.",
        partner_organization_id="Only deals this partner organization (or one below it) is linked to.",
        pipeline_id="Only deals that follow this pipeline.",
    )
    @strawberry.field(
        description="Forecast of the visible deals closing between the dates (inclusive), in one currency."
    )
    async def forecast(
        self,
        info: Info,
        period_start: datetime.date,
        period_end: datetime.date,
        currency: str,
        territory_id: strawberry.ID | None = None,
        partner_organization_id: strawberry.ID | None = None,
        pipeline_id: strawberry.ID | None = None,
    ) -> Forecast:
        slice_ = query_value(lambda: _slice(territory_id, partner_organization_id, pipeline_id))
        found = await read(
            info,
            lambda uow: analytics.forecast_with_adjustments(uow, period_start, period_end, currency, slice_),
        )
        result, adjustments = found.forecast, found.adjustments
        return Forecast(
            currency=result.currency,
            by_category=_buckets(result.by_category),
            by_owner=[OwnerForecast(row=r, adjustment_rows=adjustments.get(r.subject_id, [])) for r in result.by_owner],
            by_partner=[PartnerForecast(row=r) for r in result.by_partner],
        )

    @described_arguments(
        period_start="First day of the period (inclusive).",
        period_end="Last day of the period (inclusive).",
        currency="ISO 4217 code; only deals in this currency count (amounts are never converted).",
        territory_id="Only deals in this territory or below it.",
        partner_organization_id="Only deals this partner organization (or one below it) is linked to.",
        pipeline_id="Only deals that follow this pipeline.",
    )
    @strawberry.field(description="Funnel of the visible deals closing between the dates, with win rate and cycle.")
    async def funnel(
        self,
        info: Info,
        period_start: datetime.date,
        period_end: datetime.date,
        currency: str,
        territory_id: strawberry.ID | None = None,
        partner_organization_id: strawberry.ID | None = None,
        pipeline_id: strawberry.ID | None = None,
    ) -> Funnel:
        slice_ = query_value(lambda: _slice(territory_id, partner_organization_id, pipeline_id))
        result = await read(info, lambda uow: analytics.funnel(uow, period_start, period_end, currency, slice_))
        return Funnel(
            currency=result.currency,
            stages=[
                FunnelStage(
                    stage=s.stage,
                    count=s.totals.count,
                    amount=s.totals.amount,
                    weighted_amount=s.totals.weighted,
                    conversion_rate=s.conversion_rate,
                    average_days_in_stage=s.average_days,
                )
                for s in result.stages
            ],
            win_rate=result.win_rate,
            average_cycle_days=result.average_cycle_days,
        )


@strawberry.type(description="A quota and how it stands, measured on the deals the viewer can see.")
class QuotaStatusType:
    row: strawberry.Private[quotas.QuotaStatus]

    @strawberry.field(description="The user whose quota it is (their whole reporting line counts).")
    async def user(self, info: Info) -> UserType | None:
        if self.row.quota.subject is not quotas.QuotaSubject.USER:
            return None
        found = await load(info, "User", self.row.quota.subject_id)
        return UserType.from_row(found) if found else None

    @strawberry.field(description="The territory whose quota it is (its subtree counts).")
    async def territory(self, info: Info) -> TerritoryType | None:
        if self.row.quota.subject is not quotas.QuotaSubject.TERRITORY:
            return None
        found = await load(info, "Territory", self.row.quota.subject_id)
        return TerritoryType.from_row(found) if found else None

    @strawberry.field(description="The partner whose quota it is (deals of it and partners below it count).")
    async def organization(self, info: Info) -> OrganizationType | None:
        if self.row.quota.subject is not quotas.QuotaSubject.ORGANIZATION:
            return None
        found = await load(info, "Organization", self.row.quota.subject_id)
        return OrganizationType.from_row(found) if found else None

    @strawberry.field(description="First day of the period.")
    def period_start(self) -> datetime.date:
        return self.row.quota.period_start

    @strawberry.field(description="Last day of the period.")
    def period_end(self) -> datetime.date:
        return self.row.quota.period_end

    @strawberry.field(description="The quota.")
    def quota(self) -> Money:
        return Money(amount=self.row.quota.amount, currency=self.row.quota.currency)

    @strawberry.field(description="Closed won in the period.")
    def attained(self) -> Money:
        return Money(amount=self.row.attained, currency=self.row.quota.currency)

    @strawberry.field(description="Open deals closing in the period.")
    def open_pipeline(self) -> Money:
        return Money(amount=self.row.open_pipeline, currency=self.row.quota.currency)

    @strawberry.field(description="Attained ÷ quota.")
    def attainment(self) -> float | None:
        return self.row.attainment

    @strawberry.field(description="Open pipeline ÷ what is left to close; null once the quota is met.")
    def coverage(self) -> float | None:
        return self.row.coverage


@strawberry.input(description="A quota for exactly one of a user, a territory or a partner.")
class SetQuotaInput:
    user_id: strawberry.ID | None = strawberry.field(default=None, description="A user (their reporting line counts).")
    territory_id: strawberry.ID | None = strawberry.field(default=None, description="A territory.")
    organization_id: strawberry.ID | None = strawberry.field(default=None, description="A partner.")
    period_start: datetime.date = strawberry.field(description="First day.")
    period_end: datetime.date = strawberry.field(description="Last day.")
    currency: str = strawberry.field(description="ISO 4217 code.")
    amount: Decimal = strawberry.field(description="What is to be closed.")


@strawberry.type(description="The result of setting a quota.")
class QuotaPayload:
    quota: QuotaStatusType | None = strawberry.field(description="The quota as it stands; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def _subject(input: SetQuotaInput) -> tuple[quotas.QuotaSubject, uuid.UUID]:
    given = [
        (s, v, t, f)
        for s, v, t, f in (
            (quotas.QuotaSubject.USER, input.user_id, "User", "userId"),
            (quotas.QuotaSubject.TERRITORY, input.territory_id, "Territory", "territoryId"),
            (quotas.QuotaSubject.ORGANIZATION, input.organization_id, "Organization", "organizationId"),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise ValidationFailed(
            [FieldError("userId", ErrorCode.INVALID, "Give exactly one of userId, territoryId or organizationId.")]
        )
    subject, value, type_name, field = given[0]
    return subject, id_of(value, type_name, field)


@strawberry.type(description="An owner's closed-won business in the period.")
class LeaderboardEntry:
    row: strawberry.Private[analytics.LeaderboardEntry]

    @strawberry.field(description="The owner.")
    async def user(self, info: Info) -> UserType | None:
        found = await load(info, "User", self.row.owner_id)
        return UserType.from_row(found) if found else None

    @strawberry.field(description="Deals won.")
    def won_count(self) -> int:
        return self.row.won.count

    @strawberry.field(description="Amount won.")
    def won_amount(self) -> Decimal:
        return self.row.won.amount


def _slice(
    territory_id: strawberry.ID | None, partner_id: strawberry.ID | None, pipeline_id: strawberry.ID | None
) -> analytics.Slice:
    return analytics.Slice(
        territory_id=optional_id_of(territory_id, "Territory", "territoryId"),
        partner_id=optional_id_of(partner_id, "Organization", "partnerOrganizationId"),
        pipeline_id=optional_id_of(pipeline_id, "Pipeline", "pipelineId"),
    )


@strawberry.input(description="A manager's own figure for one category of their line's forecast.")
class AdjustForecastInput:
    period_start: datetime.date = strawberry.field(description="First day, as in the forecast query.")
    period_end: datetime.date = strawberry.field(description="Last day, as in the forecast query.")
    currency: str = strawberry.field(description="ISO 4217 code.")
    category: ForecastCategoryType = strawberry.field(description="The category adjusted.")
    amount: Decimal = strawberry.field(description="The manager's figure.")
    note: str = strawberry.field(description="Why (required).")


@strawberry.type(description="The result of adjusting a forecast.")
class AdjustForecastPayload:
    adjustment: ForecastAdjustmentType | None = strawberry.field(description="The adjustment; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type
class QuotaQueries:
    @described_arguments(
        period_start="First day of the period (inclusive).",
        period_end="Last day of the period (inclusive).",
        currency="ISO 4217 code; only deals in this currency count (amounts are never converted).",
        territory_id="Only deals in this territory or below it.",
        partner_organization_id="Only deals this partner organization (or one below it) is linked to.",
        pipeline_id="Only deals that follow this pipeline.",
        first="How many owners to list, the best first.",
    )
    @strawberry.field(description="Owners by amount closed won in the period, among the deals and people you can see.")
    async def leaderboard(
        self,
        info: Info,
        period_start: datetime.date,
        period_end: datetime.date,
        currency: str,
        first: int = 10,
        territory_id: strawberry.ID | None = None,
        partner_organization_id: strawberry.ID | None = None,
        pipeline_id: strawberry.ID | None = None,
    ) -> list[LeaderboardEntry]:
        slice_ = query_value(lambda: _slice(territory_id, partner_organization_id, pipeline_id))
        rows = await read(
            info, lambda uow: analytics.leaderboard(uow, period_start, period_end, currency, first, slice_)
        )
        return [LeaderboardEntry(row=r) for r in rows]

    @described_arguments(
        period_start="First day of the period (inclusive).",
        period_end="Last day of the period (inclusive).",
    )
    @strawberry.field(description="Quotas within the period whose subject you can see, with attainment and coverage.")
    async def quotas(self, info: Info, period_start: datetime.date, period_end: datetime.date) -> list[QuotaStatusType]:
        rows = await read(info, lambda uow: quotas.quota_statuses(uow, period_start, period_end))
        return [QuotaStatusType(row=r) for r in rows]


@strawberry.type
class QuotaMutations:
    @strawberry.mutation(description="Record your own figure for a category of your line's forecast (managers).")
    async def adjust_forecast(self, info: Info, input: AdjustForecastInput) -> AdjustForecastPayload:
        async def change(uow: UnitOfWork) -> analytics.ForecastAdjustment:
            return await analytics.adjust_forecast(
                uow,
                input.period_start,
                input.period_end,
                input.currency,
                input.category,
                input.amount,
                input.note,
            )

        return await mutate(
            info,
            change,
            payload=lambda row: AdjustForecastPayload(adjustment=ForecastAdjustmentType(row=row), errors=[]),
            failed=lambda errors: AdjustForecastPayload(adjustment=None, errors=errors),
        )

    @strawberry.mutation(description="Set or replace a quota (sales leadership).")
    async def set_quota(self, info: Info, input: SetQuotaInput) -> QuotaPayload:
        async def change(uow: UnitOfWork) -> quotas.QuotaStatus:
            subject, subject_id = _subject(input)
            return await quotas.set_quota(
                uow, subject, subject_id, input.period_start, input.period_end, input.currency, input.amount
            )

        return await mutate(
            info,
            change,
            payload=lambda status: QuotaPayload(quota=QuotaStatusType(row=status), errors=[]),
            failed=lambda errors: QuotaPayload(quota=None, errors=errors),
        )
