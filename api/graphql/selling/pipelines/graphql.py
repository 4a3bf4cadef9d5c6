"""Pipelines: list them, and configure them (admins)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError
from api.graphql.idempotency import idempotency_key_field
from api.graphql.mutation import mutate
from api.graphql.relay import Node, to_global_id
from api.graphql.resolving import read
from api.graphql.selling.opportunities.types import ForecastCategoryType, StageType
from domain.access.unit_of_work import UnitOfWork
from domain.selling.pipelines import (
    Pipeline,
    PipelineStage,
    StageSpec,
    create_pipeline,
    stages_of,
    tenant_pipelines,
)


@strawberry.type(name="PipelineStage", description="A stage of a pipeline.")
class PipelineStageType:
    stage: StageType = strawberry.field(description="The canonical stage.")
    label: str = strawberry.field(description="Its name in this pipeline.")
    probability: int = strawberry.field(description="Default win probability in this pipeline.")
    forecast_category: ForecastCategoryType = strawberry.field(description="Forecast bucket in this pipeline.")

    @classmethod
    def from_row(cls, row: PipelineStage) -> PipelineStageType:
        return cls(
            stage=row.stage, label=row.label, probability=row.probability, forecast_category=row.forecast_category
        )


@strawberry.type(name="Pipeline", description="A sales process: an ordered selection of stages.")
class PipelineType(Node):
    id: strawberry.ID = strawberry.field(description="Global ID; pass it as pipelineId.")
    row: strawberry.Private[Pipeline]

    @classmethod
    def from_row(cls, row: Pipeline) -> PipelineType:
        return cls(id=to_global_id("Pipeline", row.id), row=row)

    @strawberry.field(description="Name, e.g. Renewal.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="Whether new deals follow it unless told otherwise.")
    def is_default(self) -> bool:
        return self.row.is_default

    @strawberry.field(description="Its stages, in order.")
    async def stages(self, info: Info) -> list[PipelineStageType]:
        rows = await read(info, lambda uow: stages_of(uow, self.row.id))
        return [PipelineStageType.from_row(r) for r in rows]


@strawberry.input(description="A stage of a new pipeline; unset values take the stage's defaults.")
class PipelineStageInput:
    stage: StageType = strawberry.field(description="The canonical stage.")
    label: str | None = strawberry.field(default=None, description="Its name in this pipeline.")
    probability: int | None = strawberry.field(default=None, description="Default win probability, 0–100.")
    forecast_category: ForecastCategoryType | None = strawberry.field(default=None, description="Forecast bucket.")


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


def _created(row: Pipeline | None) -> PipelinePayload:
    return PipelinePayload(pipeline=PipelineType.from_row(row) if row else None, errors=[])


def _failed(errors: list[UserError]) -> PipelinePayload:
    return PipelinePayload(pipeline=None, errors=errors)


@strawberry.type
class PipelineQueries:
    @strawberry.field(description="The tenant's pipelines, default first.")
    async def pipelines(self, info: Info) -> list[PipelineType]:
        return [PipelineType.from_row(r) for r in await read(info, tenant_pipelines)]


@strawberry.type
class PipelineMutations:
    @strawberry.mutation(description="Create a pipeline (admins).")
    async def create_pipeline(self, info: Info, input: CreatePipelineInput) -> PipelinePayload:
        async def create(uow: UnitOfWork) -> Pipeline:
            specs = [StageSpec(s.stage, s.label, s.probability, s.forecast_category) for s in input.stages]
            return await create_pipeline(uow, input.name, specs, is_default=input.is_default)

        return await mutate(
            info,
            create,
            payload=_created,
            failed=_failed,
            node="Pipeline",
            idempotency_key=input.idempotency_key,
            request=input,
        )
