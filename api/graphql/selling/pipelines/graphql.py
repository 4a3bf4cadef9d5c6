"""Pipelines: list them, and configure them (admins)."""

from __future__ import annotations

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.graphql.errors import UserError
from api.graphql.idempotency import create_once, idempotency_key_field
from api.graphql.relay import Node, to_global_id
from api.graphql.resolving import ctx
from api.graphql.selling.opportunities.types import ForecastCategoryType, StageType
from domain.selling.pipelines import Pipeline, PipelineStage, StageSpec, create_pipeline, stages_of


@strawberry.type(name="PipelineStage", description="A stage of a pipeline.")
class PipelineStageType:
    stage: StageType = strawberry.field(description="The canonical stage.")  # type: ignore[valid-type]
    label: str = strawberry.field(description="Its name in this pipeline.")
    probability: int = strawberry.field(description="Default win probability in this pipeline.")
    forecast_category: ForecastCategoryType = strawberry.field(description="Forecast bucket in this pipeline.")  # type: ignore[valid-type]

    @classmethod
    def from_row(cls, row: PipelineStage) -> PipelineStageType:
        return cls(
            stage=row.stage, label=row.label, probability=row.probability, forecast_category=row.forecast_category
        )


@strawberry.type(name="Pipeline", description="A sales process: an ordered selection of stages.")
class PipelineType(Node):
    row: strawberry.Private[Pipeline]

    @classmethod
    def from_row(cls, row: Pipeline) -> PipelineType:
        return cls(row=row)

    @strawberry.field(description="Global ID; pass it as pipelineId.")
    def id(self) -> strawberry.ID:
        return to_global_id("Pipeline", self.row.id)

    @strawberry.field(description="Name, e.g. Renewal.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="Whether new deals follow it unless told otherwise.")
    def is_default(self) -> bool:
        return self.row.is_default

    @strawberry.field(description="Its stages, in order.")
    async def stages(self, info: Info) -> list[PipelineStageType]:
        async with ctx(info).sessions() as session:
            rows = await stages_of(session, self.row.tenant_id, self.row.id)
        return [PipelineStageType.from_row(r) for r in rows]


@strawberry.input(description="A stage of a new pipeline; unset values take the stage's defaults.")
class PipelineStageInput:
    stage: StageType = strawberry.field(description="The canonical stage.")  # type: ignore[valid-type]
    label: str | None = strawberry.field(default=None, description="Its name in this pipeline.")
    probability: int | None = strawberry.field(default=None, description="Default win probability, 0–100.")
    forecast_category: ForecastCategoryType | None = strawberry.field(default=None, description="Forecast bucket.")  # type: ignore[valid-type]


@strawberry.input(description="A new pipeline.")
class CreatePipelineInput:
    name: str = strawberry.field(description="Name, unique in the tenant.")
    stages: list[PipelineStageInput] = strawberry.field(
        description="Open stages in canonical order, then CLOSED_WON and CLOSED_LOST."
    )
    is_default: bool = strawberry.field(default=False, description="Make it the one new deals follow.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.type(description="The result of creating a pipeline.")
class PipelinePayload:
    pipeline: PipelineType | None = strawberry.field(description="The pipeline; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type
class PipelineQueries:
    @strawberry.field(description="The tenant's pipelines, default first.")
    async def pipelines(self, info: Info) -> list[PipelineType]:
        async with ctx(info).sessions() as session:
            rows = (
                await session.execute(
                    select(Pipeline)
                    .where(Pipeline.tenant_id == ctx(info).actor.tenant_id)
                    .order_by(Pipeline.is_default.desc(), Pipeline.name)
                )
            ).scalars()
            return [PipelineType.from_row(r) for r in rows]


@strawberry.type
class PipelineMutations:
    @strawberry.mutation(description="Create a pipeline (admins).")
    async def create_pipeline(self, info: Info, input: CreatePipelineInput) -> PipelinePayload:
        async def create(session: AsyncSession) -> Pipeline:
            specs = [StageSpec(s.stage, s.label, s.probability, s.forecast_category) for s in input.stages]
            return await create_pipeline(session, ctx(info).access, input.name, specs, is_default=input.is_default)

        return await create_once(
            info, create, "Pipeline",
            lambda row: PipelinePayload(pipeline=PipelineType.from_row(row) if row else None, errors=[]),
            lambda errors: PipelinePayload(pipeline=None, errors=errors), key=input.idempotency_key, request=input,
        )  # fmt: skip
