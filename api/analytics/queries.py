"""Forecast and funnel queries; every number is built from the viewer's visible deals only."""

from __future__ import annotations

import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.directory.types import OrganizationType, UserType
from api.graphql.errors import run_query
from api.graphql.resolving import ctx, load
from api.opportunities.types import ForecastCategoryType, StageType
from domain import analytics
from domain.opportunities import ForecastCategory


@strawberry.type(description="Deals in one bucket: how many, their amount, and their probability-weighted amount.")
class ForecastBucket:
    category: ForecastCategoryType = strawberry.field(description="Forecast category.")  # type: ignore[valid-type]
    count: int = strawberry.field(description="Number of deals.")
    amount: Decimal = strawberry.field(description="Sum of amounts.")
    weighted_amount: Decimal = strawberry.field(description="Sum of amount × probability.")


def _buckets(by: dict[ForecastCategory, analytics.Totals]) -> list[ForecastBucket]:
    return [
        ForecastBucket(category=c, count=by[c].count, amount=by[c].amount, weighted_amount=by[c].weighted)
        for c in ForecastCategory
        if c in by and by[c].count
    ]


@strawberry.type(description="A person's forecast: their own deals, and their whole reporting line's.")
class OwnerForecast:
    row: strawberry.Private[analytics.ForecastRow]

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
    stage: StageType = strawberry.field(description="The stage.")  # type: ignore[valid-type]
    count: int = strawberry.field(description="Number of deals.")
    amount: Decimal = strawberry.field(description="Sum of amounts.")
    weighted_amount: Decimal = strawberry.field(description="Sum of amount × probability.")


@strawberry.type(description="The funnel of the deals closing in a period, in one currency.")
class Funnel:
    currency: str = strawberry.field(description="The currency of every amount here.")
    stages: list[FunnelStage] = strawberry.field(description="Every stage, in order.")
    win_rate: float | None = strawberry.field(description="Won ÷ (won + lost); null when none closed.")
    average_cycle_days: float | None = strawberry.field(description="Average days from creation to close, won deals.")


@strawberry.type
class AnalyticsQueries:
    @strawberry.field(
        description="Forecast of the visible deals closing between the dates (inclusive), in one currency."
    )
    async def forecast(
        self, info: Info, period_start: datetime.date, period_end: datetime.date, currency: str
    ) -> Forecast:
        async def compute() -> analytics.Forecast:
            async with ctx(info).sessions() as session:
                return await analytics.forecast(session, ctx(info).access, period_start, period_end, currency)

        result = await run_query(compute)
        return Forecast(
            currency=result.currency, by_category=_buckets(result.by_category),
            by_owner=[OwnerForecast(row=r) for r in result.by_owner],
            by_partner=[PartnerForecast(row=r) for r in result.by_partner],
        )  # fmt: skip

    @strawberry.field(description="Funnel of the visible deals closing between the dates, with win rate and cycle.")
    async def funnel(self, info: Info, period_start: datetime.date, period_end: datetime.date, currency: str) -> Funnel:
        async def compute() -> analytics.Funnel:
            async with ctx(info).sessions() as session:
                return await analytics.funnel(session, ctx(info).access, period_start, period_end, currency)

        result = await run_query(compute)
        return Funnel(
            currency=result.currency,
            stages=[FunnelStage(stage=s.stage, count=s.totals.count, amount=s.totals.amount,
                                weighted_amount=s.totals.weighted) for s in result.stages],
            win_rate=result.win_rate, average_cycle_days=result.average_cycle_days,
        )  # fmt: skip
