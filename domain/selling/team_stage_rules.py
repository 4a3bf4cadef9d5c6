"""Team access that follows the sale: what a team member's sales role may change at each stage.

A tenant-configurable table of (sales role, stage, field group) → may edit. It binds members whose
right to edit comes from the team alone; owners and managers are not bound by it. A role with no
rule for a field group keeps the access its team membership gives it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Boolean, Enum, ForeignKeyConstraint, UniqueConstraint, select
from sqlalchemy.dialects.postgresql import ENUM
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import UnitOfWork
from domain.audit import trail as audit_log
from domain.selling.codes import SellingCode
from domain.selling.opportunities import Opportunity, SalesRole, team_member
from domain.selling.stages import Stage
from domain.shared.base import Base, TenantScoped, Timestamped
from domain.shared.errors import Forbidden


class FieldGroup(StrEnum):
    COMMERCIAL = "commercial"  # amount, currency, budget, margin, probability, forecast, close date
    DETAILS = "details"  # name, decision date, internal notes
    STAGE = "stage"  # moving the deal between stages


FIELD_GROUPS = {
    **dict.fromkeys(
        ("amount", "currency", "budget", "margin", "probability", "forecast_category", "close_date"),
        FieldGroup.COMMERCIAL,
    ),
    **dict.fromkeys(("name", "decision_date", "internal_notes"), FieldGroup.DETAILS),
}


class TeamStageRule(TenantScoped, Timestamped, Base):
    """Whether team members in a sales role may change a field group while the deal is in a stage."""

    __tablename__ = "team_stage_rule"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "sales_role", "stage", "field_group", name="uq_team_stage_rule"),
    )

    sales_role: Mapped[SalesRole] = mapped_column(ENUM(SalesRole, name="sales_role", create_type=False))
    stage: Mapped[Stage] = mapped_column(ENUM(Stage, name="opportunity_stage", create_type=False))
    field_group: Mapped[FieldGroup] = mapped_column(Enum(FieldGroup, name="field_group"))
    can_edit: Mapped[bool] = mapped_column(Boolean)


async def set_rule(
    uow: UnitOfWork, sales_role: SalesRole, stage: Stage, group: FieldGroup, can_edit: bool
) -> TeamStageRule:
    """Set one cell of the table (admins)."""
    if not uow.access.can(Resource.POLICY, Action.UPDATE):
        raise Forbidden("Only admins change team access rules.")
    rule = (
        await uow.session.execute(
            select(TeamStageRule).where(
                TeamStageRule.tenant_id == uow.tenant_id,
                TeamStageRule.sales_role == sales_role,
                TeamStageRule.stage == stage,
                TeamStageRule.field_group == group,
            )
        )
    ).scalar_one_or_none()
    before = None if rule is None else rule.can_edit
    if rule is None:
        rule = TeamStageRule(
            tenant_id=uow.tenant_id,
            id=uuid.uuid4(),
            sales_role=sales_role,
            stage=stage,
            field_group=group,
            can_edit=can_edit,
        )
        uow.session.add(rule)
    rule.can_edit = can_edit
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="team_stage_rule",
        record_id=rule.id,
        action="set",
        changes={f"{sales_role.value}/{stage.value}/{group.value}": {"old": before, "new": can_edit}},
    )
    return rule


async def rules(uow: UnitOfWork) -> list[TeamStageRule]:
    """The tenant's team access table, every cell set."""
    found = await uow.session.execute(select(TeamStageRule).where(TeamStageRule.tenant_id == uow.tenant_id))
    return list(found.scalars())


@dataclass(frozen=True)
class TeamStageLimit:
    """What the team stage rules leave a member, whose right to edit rests on the team alone, at the deal's stage."""

    sales_role: SalesRole
    stage: Stage
    refused: frozenset[FieldGroup]

    @property
    def allowed(self) -> list[FieldGroup]:
        return [g for g in FieldGroup if g not in self.refused]


async def team_stage_limit(uow: UnitOfWork, opportunity: Opportunity) -> TeamStageLimit | None:
    """The rules' limit on the actor for this deal at its current stage; None when the rules do not bind them."""
    actor = uow.actor
    if actor.user_id is None or opportunity.owner_id == actor.user_id:
        return None
    beyond_team = await uow.session.scalar(
        uow.mark(
            select(Opportunity.id).where(
                Opportunity.id == opportunity.id, uow.access.rows_beyond_team(Resource.OPPORTUNITY, Action.UPDATE)
            )
        )
    )
    if beyond_team is not None:
        return None  # their right to edit does not rest on the team
    member = await team_member(uow, opportunity, actor.user_id)
    if member is None:
        return None
    table = [r for r in await rules(uow) if r.sales_role == member.sales_role]
    refused = set()
    for group in FieldGroup:
        cells = [r for r in table if r.field_group == group]
        if cells and not any(r.stage == opportunity.stage and r.can_edit for r in cells):
            refused.add(group)
    return TeamStageLimit(member.sales_role, opportunity.stage, frozenset(refused))


async def require_team_stage_rights(uow: UnitOfWork, opportunity: Opportunity, groups: set[FieldGroup]) -> None:
    """Refuse a change the actor's team role may not make at the deal's current stage."""
    if not groups:
        return
    limit = await team_stage_limit(uow, opportunity)
    refused = sorted(groups & limit.refused) if limit else []
    if limit and refused:
        raise Forbidden(
            f"As {limit.sales_role.value} you may not change {', '.join(g.value for g in refused)} while the deal "
            f"is in {opportunity.stage.name}.",
            field="id",
            code=SellingCode.TEAM_STAGE_LOCKED,
        )
