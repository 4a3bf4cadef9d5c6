"""Stage moves with gates: entering a stage can require fields, a decision maker in the buying centre,
team roles and a manager's approval. A forward move meets the gate of every stage it passes, not only
the one it lands in, and so does a deal created in a later stage. A move that fails a gate reports
every unmet requirement at once and changes nothing; moving back needs a reason, and closing needs a
reason code."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    ARRAY,
    Boolean,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Select,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    select,
)
from sqlalchemy.dialects.postgresql import ENUM
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import UnitOfWork
from domain.audit import trail as audit_log
from domain.selling.buying_centre import OpportunityContact, record_winner
from domain.selling.codes import SellingCode
from domain.selling.contacts import BuyingRole
from domain.selling.opportunities import Opportunity, OpportunityTeamMember, SalesRole, editable_opportunity_or_raise
from domain.selling.pipelines import stage_terms, stages_of
from domain.selling.stages import OPEN_ORDER, CloseReason, Stage
from domain.selling.team_stage_rules import FieldGroup, require_team_stage_rights
from domain.shared.base import Base, TenantScoped, Timestamped, utcnow
from domain.shared.errors import Conflict, ErrorCode, FieldError, Forbidden, NotFound, ValidationFailed, Validator

# Fields a gate may require, with their API names.
GATE_FIELDS = {"budget": "budget", "decision_date": "decisionDate", "margin": "margin", "close_date": "closeDate"}


class ApprovalStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


class StageGate(TenantScoped, Timestamped, Base):
    """What entering one stage requires, for one tenant."""

    __tablename__ = "stage_gate"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "stage"),
    )

    stage: Mapped[Stage] = mapped_column(ENUM(Stage, name="opportunity_stage", create_type=False))
    required_fields: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    require_decision_maker: Mapped[bool] = mapped_column(Boolean, default=False)
    required_team_roles: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)


class StageApproval(TenantScoped, Timestamped, Base):
    """A request to enter a gated stage, and the manager's decision."""

    __tablename__ = "stage_approval"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "opportunity_id"], ["opportunity.tenant_id", "opportunity.id"], ondelete="CASCADE"
        ),
    )

    opportunity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    stage: Mapped[Stage] = mapped_column(ENUM(Stage, name="opportunity_stage", create_type=False))
    status: Mapped[ApprovalStatus] = mapped_column(Enum(ApprovalStatus, name="approval_status"))
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


async def set_gate(
    uow: UnitOfWork,
    stage: Stage,
    *,
    required_fields: list[str],
    require_decision_maker: bool,
    required_team_roles: list[SalesRole],
    requires_approval: bool,
) -> StageGate:
    """Configure the gate of a stage (admins); an empty gate lets every move in."""
    session, access = uow.session, uow.access
    if not access.can(Resource.POLICY, Action.UPDATE):
        raise Forbidden("Only admins configure stage gates.")
    unknown = sorted(set(required_fields) - set(GATE_FIELDS.values()))
    if unknown:
        raise ValidationFailed(
            [
                FieldError(
                    "requiredFields",
                    ErrorCode.INVALID,
                    f"Gates can require {sorted(GATE_FIELDS.values())}; not {unknown}.",
                )
            ]
        )
    by_api = {v: k for k, v in GATE_FIELDS.items()}
    gate = (
        await session.execute(
            select(StageGate).where(StageGate.tenant_id == access.actor.tenant_id, StageGate.stage == stage)
        )
    ).scalar_one_or_none()
    if gate is None:
        gate = StageGate(tenant_id=access.actor.tenant_id, id=uuid.uuid4(), stage=stage)
        session.add(gate)
    gate.required_fields = sorted(by_api[f] for f in set(required_fields))
    gate.require_decision_maker = require_decision_maker
    gate.required_team_roles = sorted({r.value for r in required_team_roles})
    gate.requires_approval = requires_approval
    await session.flush()
    audit_log.record(
        session,
        access,
        record_type="stage_gate",
        record_id=gate.id,
        action="configured",
        changes={
            "gate": {
                "old": None,
                "new": {
                    "stage": stage.value,
                    "fields": gate.required_fields,
                    "decision_maker": require_decision_maker,
                    "team_roles": gate.required_team_roles,
                    "approval": requires_approval,
                },
            }
        },
    )
    return gate


async def gates(uow: UnitOfWork) -> list[StageGate]:
    """The tenant's stage gates, in stage order."""
    found = (await uow.session.execute(select(StageGate).where(StageGate.tenant_id == uow.tenant_id))).scalars()
    return sorted(found, key=lambda gate: list(Stage).index(gate.stage))


async def stages_passed(
    uow: UnitOfWork, pipeline_id: uuid.UUID | None, current: Stage | None, target: Stage
) -> list[Stage]:
    """The stages a forward move enters on its way to `target`, the target last; `current` None is a new deal.

    A deal passes every open stage of its pipeline between the two; winning passes all that remain, losing
    passes none but CLOSED_LOST. A new deal starts in the pipeline's first stage, so it enters the ones after.
    """
    order = [row.stage for row in await stages_of(uow, pipeline_id)] if pipeline_id else list(Stage)
    open_stages = [s for s in order if not s.is_closed] or OPEN_ORDER
    if target is Stage.CLOSED_LOST:
        return [target]
    start = OPEN_ORDER.index(current if current is not None else open_stages[0])
    if target is Stage.CLOSED_WON:
        return [s for s in open_stages if OPEN_ORDER.index(s) > start] + [target]
    end = OPEN_ORDER.index(target)
    return [s for s in open_stages if start < OPEN_ORDER.index(s) < end] + ([target] if end > start else [])


async def unmet_on_the_way(
    uow: UnitOfWork, opportunity: Opportunity, stages: list[Stage], *, creating: bool = False
) -> list[FieldError]:
    """Everything the gates of `stages` require that the opportunity lacks, each requirement once.

    For a deal being created only the gated fields can be met from its input; the rest (buying centre, team,
    approval) is reported on `stage`, since such a deal has to start earlier and move on once they are met.
    """
    if not stages:
        return []
    found = (
        await uow.session.execute(
            select(StageGate).where(StageGate.tenant_id == opportunity.tenant_id, StageGate.stage.in_(stages))
        )
    ).scalars()
    by_stage = {gate.stage: gate for gate in found}
    target = stages[-1]
    unmet: dict[tuple[str, ...], FieldError] = {}
    for stage in stages:
        gate = by_stage.get(stage)
        if gate is None:
            continue
        how = f"to enter {stage.name}" if stage == target else f"to pass {stage.name} on the way to {target.name}"
        for key, error in await _unmet_at_gate(uow, opportunity, gate, how, creating=creating):
            unmet.setdefault(key, error)
    return list(unmet.values())


async def _unmet_at_gate(
    uow: UnitOfWork, opportunity: Opportunity, gate: StageGate, how: str, *, creating: bool
) -> list[tuple[tuple[str, ...], FieldError]]:
    """(requirement, error) for every requirement of one gate the opportunity does not meet."""
    session = uow.session
    unmet: list[tuple[tuple[str, ...], FieldError]] = []
    later = ": create the deal in an earlier stage and move it on once this is met." if creating else "."

    def fail(key: tuple[str, ...], field: str, message: str, code: SellingCode = SellingCode.STAGE_GATE_UNMET) -> None:
        unmet.append((key, FieldError("stage" if creating else field, code, message + later)))

    for attr in gate.required_fields:
        if getattr(opportunity, attr) is None:
            name = GATE_FIELDS[attr]
            error = FieldError(name, SellingCode.STAGE_GATE_UNMET, f"{name} is required {how}.")
            unmet.append((("field", attr), error))
    if gate.require_decision_maker and (
        creating
        or (
            await session.execute(
                select(OpportunityContact.id)
                .where(
                    OpportunityContact.tenant_id == opportunity.tenant_id,
                    OpportunityContact.opportunity_id == opportunity.id,
                    OpportunityContact.role == BuyingRole.DECISION_MAKER,
                )
                .limit(1)
            )
        ).scalar_one_or_none()
        is None
    ):
        fail(("decision_maker",), "buyingCentre", f"A decision maker must be in the buying centre {how}")
    if gate.required_team_roles:
        present = (
            set()
            if creating
            else set(
                (
                    await session.execute(
                        select(OpportunityTeamMember.sales_role).where(
                            OpportunityTeamMember.tenant_id == opportunity.tenant_id,
                            OpportunityTeamMember.opportunity_id == opportunity.id,
                        )
                    )
                ).scalars()
            )
        )
        for role in gate.required_team_roles:
            if SalesRole(role) not in present:
                fail(("team", role), "team", f"A {role} must be on the team {how}")
    if gate.requires_approval and (
        creating
        or (
            await session.execute(
                select(StageApproval.id)
                .where(
                    StageApproval.tenant_id == opportunity.tenant_id,
                    StageApproval.opportunity_id == opportunity.id,
                    StageApproval.stage == gate.stage,
                    StageApproval.status == ApprovalStatus.APPROVED,
                )
                .limit(1)
            )
        ).scalar_one_or_none()
        is None
    ):
        ask = "" if creating else f": request one for {gate.stage.name} first"
        message = f"A manager's approval is needed {how}{ask}"
        fail(("approval", gate.stage.value), "approval", message, SellingCode.APPROVAL_PENDING)
    return unmet


async def move_stage(
    uow: UnitOfWork,
    opportunity_id: uuid.UUID,
    stage: Stage,
    *,
    reason: str | None = None,
    reason_code: CloseReason | None = None,
    competitor: str | None = None,
    expected_version: int | None = None,
) -> Opportunity:
    """Move an opportunity to a stage: forward moves pass the stage's gate, backward moves and closing need reasons.

    With `expected_version`, a move made from an older read (the deal moved meanwhile) is refused.
    """
    opportunity = await editable_opportunity_or_raise(uow, opportunity_id, expected_version=expected_version)
    await require_team_stage_rights(uow, opportunity, {FieldGroup.STAGE})
    v = Validator()
    reason = v.require_text("reason", reason, max_length=2000, required=False)
    competitor = v.require_text("competitor", competitor, max_length=200, required=False)
    current = opportunity.stage
    if current == stage:
        v.fail("stage", ErrorCode.INVALID, f"The opportunity is already in stage {stage.name}.")
    backwards = (current.is_closed and stage != current) or (
        not stage.is_closed and not current.is_closed and OPEN_ORDER.index(stage) < OPEN_ORDER.index(current)
    )
    if backwards and not reason:
        v.fail("reason", ErrorCode.REQUIRED, "Moving a deal back (or reopening it) needs a reason.")
    if stage.is_closed and reason_code is None:
        v.fail("reasonCode", ErrorCode.REQUIRED, f"Closing as {stage.name} needs a reason code.")
    if competitor and stage is not Stage.CLOSED_LOST:
        v.fail("competitor", ErrorCode.INVALID, "A competitor is recorded only when the deal is lost.")
    if not backwards and current != stage:
        passed = await stages_passed(uow, opportunity.pipeline_id, current, stage)
        v.field_errors.extend(await unmet_on_the_way(uow, opportunity, passed))
    v.raise_if_any()
    probability, forecast = await stage_terms(uow, opportunity.pipeline_id, stage)
    before = {
        "stage": current,
        "probability": opportunity.probability,
        "forecast_category": opportunity.forecast_category,
        "close_reason_code": opportunity.close_reason_code,
        "lost_to_competitor": opportunity.lost_to_competitor,
    }
    after = {
        "stage": stage,
        "probability": probability,
        "forecast_category": forecast,
        "close_reason_code": reason_code if stage.is_closed else None,
        "lost_to_competitor": competitor if stage is Stage.CLOSED_LOST else None,
    }
    for key, value in after.items():
        setattr(opportunity, key, value)
    opportunity.close_reason = reason if stage.is_closed else opportunity.close_reason
    if competitor:
        await record_winner(uow, opportunity, competitor)
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="opportunity",
        record_id=opportunity.id,
        action="stage_moved",
        changes=audit_log.diff(before, after),
        reason=reason,
    )
    return opportunity


async def request_approval(uow: UnitOfWork, opportunity_id: uuid.UUID, stage: Stage) -> StageApproval:
    """Ask a manager to let the opportunity into a gated stage."""
    session, access = uow.session, uow.access
    opportunity = await editable_opportunity_or_raise(uow, opportunity_id, field="opportunityId")
    pending = (
        await session.execute(
            select(StageApproval.id).where(
                StageApproval.tenant_id == opportunity.tenant_id,
                StageApproval.opportunity_id == opportunity.id,
                StageApproval.stage == stage,
                StageApproval.status != ApprovalStatus.REJECTED,
            )
        )
    ).scalar_one_or_none()
    if pending is not None:
        raise Conflict(
            f"An approval to enter {stage.name} is already requested or granted.",
            field="stage",
            code=SellingCode.APPROVAL_ALREADY_REQUESTED,
        )
    approval = StageApproval(
        tenant_id=opportunity.tenant_id,
        id=uuid.uuid4(),
        opportunity_id=opportunity.id,
        stage=stage,
        status=ApprovalStatus.REQUESTED,
        requested_by_id=access.actor.user_id,
    )
    session.add(approval)
    await session.flush()
    audit_log.record(
        session,
        access,
        record_type="opportunity",
        record_id=opportunity.id,
        action="stage_approval_requested",
        changes={"stage": {"old": None, "new": stage.value}},
    )
    return approval


def pending_approvals_query(uow: UnitOfWork) -> Select[StageApproval]:
    """Stage approvals waiting on the actor: still requested, on deals whose approvals they may decide."""
    decidable = uow.visible_columns(Opportunity, Opportunity.id, action=Action.APPROVE)
    return select(StageApproval).where(
        StageApproval.tenant_id == uow.tenant_id,
        StageApproval.status == ApprovalStatus.REQUESTED,
        StageApproval.opportunity_id.in_(decidable),
    )


async def decide_approval(uow: UnitOfWork, approval_id: uuid.UUID, approve: bool, reason: str | None) -> StageApproval:
    """A manager approves or rejects a stage approval for an opportunity they manage."""
    session, access = uow.session, uow.access
    approval = (
        await session.execute(
            select(StageApproval)
            .where(StageApproval.tenant_id == uow.tenant_id, StageApproval.id == approval_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if approval is None:
        # As for an approval of a deal the actor may not see: no such deal, to them.
        raise NotFound("No opportunity with that id.", field="id")
    await uow.get(Opportunity, approval.opportunity_id, field="id")
    await uow.get(Opportunity, approval.opportunity_id, action=Action.APPROVE, field="id")
    if approval.status is not ApprovalStatus.REQUESTED:
        raise Conflict(
            f"The approval is already {approval.status.value}.", field="id", code=SellingCode.APPROVAL_ALREADY_DECIDED
        )
    v = Validator()
    reason = v.require_text("reason", reason, max_length=2000, required=not approve)
    v.raise_if_any()
    approval.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    approval.decided_by_id, approval.decided_at, approval.reason = access.actor.user_id, utcnow(), reason
    await session.flush()
    audit_log.record(
        session,
        access,
        record_type="opportunity",
        record_id=approval.opportunity_id,
        action="stage_approval_decided",
        changes={"approval": {"old": "requested", "new": approval.status.value}},
        reason=reason,
    )
    return approval
