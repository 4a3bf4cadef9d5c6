"""Pipelines: several per tenant (new business, channel, renewal…), each an ordered selection of the
canonical stages with its own labels, default probabilities and forecast categories.

Stages keep their canonical keys across pipelines, so funnels and forecasts compare like with like;
what a pipeline decides is which stages a deal goes through and what each is worth."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Boolean, ForeignKeyConstraint, Integer, String, UniqueConstraint, Uuid, select, update
from sqlalchemy.dialects.postgresql import ENUM
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import UnitOfWork
from domain.audit import trail as audit_log
from domain.selling.stages import STAGE_DEFAULTS, ForecastCategory, Stage
from domain.shared.base import Base, TenantScoped, Timestamped
from domain.shared.errors import ErrorCode, Forbidden, NotFound, Validator


class Pipeline(TenantScoped, Timestamped, Base):
    """A named sales process of the tenant."""

    __tablename__ = "pipeline"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "name", name="uq_pipeline_name"),
    )

    name: Mapped[str] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class PipelineStage(TenantScoped, Timestamped, Base):
    """One stage of a pipeline: its place, its label, and what a deal in it is worth."""

    __tablename__ = "pipeline_stage"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "pipeline_id"], ["pipeline.tenant_id", "pipeline.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "pipeline_id", "stage", name="uq_pipeline_stage"),
    )

    pipeline_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    stage: Mapped[Stage] = mapped_column(ENUM(Stage, name="opportunity_stage", create_type=False))
    label: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    probability: Mapped[int] = mapped_column(Integer)
    forecast_category: Mapped[ForecastCategory] = mapped_column(
        ENUM(ForecastCategory, name="forecast_category", create_type=False)
    )


@dataclass
class StageSpec:
    """A stage as an admin configures it in a pipeline."""

    stage: Stage
    label: str | None = None
    probability: int | None = None
    forecast_category: ForecastCategory | None = None


async def create_pipeline(uow: UnitOfWork, name: str, stages: list[StageSpec], *, is_default: bool) -> Pipeline:
    """A new pipeline (admins): open stages in their canonical order, ending with both closed stages."""
    if not uow.access.can(Resource.POLICY, Action.UPDATE):
        raise Forbidden("Only admins configure pipelines.")
    v = Validator()
    clean = v.require_text("name", name, max_length=100)
    keys = [s.stage for s in stages]
    open_keys = [k for k in keys if not k.is_closed]
    canonical = [s for s in Stage if not s.is_closed]
    if len(set(keys)) != len(keys):
        v.fail("stages", ErrorCode.INVALID, "A stage appears twice.")
    elif not open_keys:
        v.fail("stages", ErrorCode.REQUIRED, "A pipeline needs at least one open stage.")
    elif open_keys != sorted(open_keys, key=canonical.index) or keys[: len(open_keys)] != open_keys:
        v.fail("stages", ErrorCode.INVALID, "Open stages come first, in their canonical order.")
    if not {Stage.CLOSED_WON, Stage.CLOSED_LOST} <= set(keys):
        v.fail("stages", ErrorCode.REQUIRED, "A pipeline ends with CLOSED_WON and CLOSED_LOST.")
    for spec in stages:
        if spec.probability is not None and not 0 <= spec.probability <= 100:
            v.fail("stages", ErrorCode.OUT_OF_RANGE, f"{spec.stage.name}: probability must be between 0 and 100.")
    v.raise_if_any()
    session, tenant_id = uow.session, uow.tenant_id
    taken = await session.scalar(select(Pipeline.id).where(Pipeline.tenant_id == tenant_id, Pipeline.name == clean))
    if taken is not None:
        v.fail("name", ErrorCode.DUPLICATE, "A pipeline of that name exists.")
        v.raise_if_any()
    has_default = (
        await session.execute(select(Pipeline.id).where(Pipeline.tenant_id == tenant_id, Pipeline.is_default))
    ).first() is not None
    if is_default:
        await session.execute(update(Pipeline).where(Pipeline.tenant_id == tenant_id).values(is_default=False))
    pipeline = Pipeline(tenant_id=tenant_id, id=uuid.uuid4(), name=clean, is_default=is_default or not has_default)
    session.add(pipeline)
    await session.flush()
    for position, spec in enumerate(stages):
        probability, forecast = STAGE_DEFAULTS[spec.stage]
        session.add(
            PipelineStage(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                pipeline_id=pipeline.id,
                stage=spec.stage,
                position=position,
                label=(spec.label or spec.stage.value.replace("_", " ").capitalize()).strip()[:100],
                probability=spec.probability if spec.probability is not None else probability,
                forecast_category=spec.forecast_category or forecast,
            )
        )
    await session.flush()
    audit_log.record(
        session,
        uow.access,
        record_type="pipeline",
        record_id=pipeline.id,
        action="created",
        changes=audit_log.created_changes({"name": clean, "stages": [k.value for k in keys]}),
    )
    return pipeline


async def tenant_pipelines(uow: UnitOfWork) -> list[Pipeline]:
    """The tenant's pipelines, the default first, then by name."""
    rows = await uow.session.execute(
        select(Pipeline).where(Pipeline.tenant_id == uow.tenant_id).order_by(Pipeline.is_default.desc(), Pipeline.name)
    )
    return list(rows.scalars())


async def stages_of(uow: UnitOfWork, pipeline_id: uuid.UUID) -> list[PipelineStage]:
    """A pipeline's stages, in their order."""
    rows = await uow.session.execute(
        select(PipelineStage)
        .where(PipelineStage.tenant_id == uow.tenant_id, PipelineStage.pipeline_id == pipeline_id)
        .order_by(PipelineStage.position)
    )
    return list(rows.scalars())


async def pipeline_for_new_deal(uow: UnitOfWork, pipeline_id: uuid.UUID | None) -> Pipeline | None:
    """The pipeline asked for, or the tenant's default one (None when the tenant has none)."""
    stmt = select(Pipeline).where(Pipeline.tenant_id == uow.tenant_id)
    stmt = stmt.where(Pipeline.id == pipeline_id) if pipeline_id else stmt.where(Pipeline.is_default)
    pipeline = (await uow.session.execute(stmt)).scalar_one_or_none()
    if pipeline_id and pipeline is None:
        raise NotFound("No pipeline with that pipelineId.", field="pipelineId")
    return pipeline


async def stage_terms(uow: UnitOfWork, pipeline_id: uuid.UUID | None, stage: Stage) -> tuple[int, ForecastCategory]:
    """Probability and forecast category of a stage in a pipeline; an error when the pipeline skips the stage."""
    if pipeline_id is None:
        return STAGE_DEFAULTS[stage]
    row = (
        await uow.session.execute(
            select(PipelineStage).where(
                PipelineStage.tenant_id == uow.tenant_id,
                PipelineStage.pipeline_id == pipeline_id,
                PipelineStage.stage == stage,
            )
        )
    ).scalar_one_or_none()
    if row is None:
        v = Validator()
        v.fail("stage", ErrorCode.INVALID, f"{stage.name} is not a stage of this deal's pipeline.")
        v.raise_if_any()
    assert row is not None
    return row.probability, row.forecast_category
