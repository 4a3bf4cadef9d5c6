"""Mutations on opportunities: create, change, stage moves, team, ownership and partner links."""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.graphql.channel.directory.types import UserType
from api.graphql.descriptions import describe_values, described_arguments
from api.graphql.errors import UserError
from api.graphql.idempotency import idempotency_key_field
from api.graphql.inputs import patch
from api.graphql.mutation import mutate
from api.graphql.record_versions import expected_version_field
from api.graphql.relay import Node, id_of, optional_id_of, to_global_id
from api.graphql.resolving import load
from api.graphql.selling.accounts.types import BuyingRoleType
from api.graphql.selling.opportunities.types import (
    AttitudeType,
    CloseReasonType,
    CompetitorStatusType,
    ForecastCategoryType,
    OpportunityType,
    PartnerRoleType,
    SalesRoleType,
    StageType,
    TeamAccessType,
)
from domain.access.unit_of_work import UnitOfWork
from domain.selling import buying_centre, opportunity_changes, stage_gates, team_stage_rules
from domain.selling import opportunities as uc
from domain.selling.opportunities import Opportunity, SalesRole
from domain.selling.opportunity_changes import OpportunityChanges
from domain.selling.stage_gates import ApprovalStatus, StageApproval, StageGate
from domain.selling.team_stage_rules import FieldGroup, TeamStageRule
from domain.shared.commands import UNSET

U = strawberry.UNSET


@strawberry.input(description="A new opportunity on an account the caller can see.")
class CreateOpportunityInput:
    account_id: strawberry.ID = strawberry.field(description="The account.")
    name: str = strawberry.field(description="Deal name (1–200 characters).")
    amount: Decimal = strawberry.field(description="Expected value, not negative, at most two decimals.")
    currency: str = strawberry.field(description="ISO 4217 code, e.g. USD.")
    close_date: datetime.date = strawberry.field(description="Expected close date.")
    stage: StageType | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Starting stage; the pipeline's first stage if left out."
    )
    pipeline_id: strawberry.ID | None = strawberry.field(
        default=None, description="The pipeline to follow; the tenant's default if left out."
    )
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="Owner; defaults to the caller.")
    margin: Decimal | None = strawberry.field(default=None, description="Expected margin fraction (internal-only).")
    internal_notes: str | None = strawberry.field(default=None, description="Internal notes (internal-only).")
    budget: Decimal | None = strawberry.field(
        default=None, description="The customer's budget, in the deal's currency (a gate may require it)."
    )
    decision_date: datetime.date | None = strawberry.field(
        default=None, description="When the customer decides (a gate may require it)."
    )
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(description="Changes to an opportunity; fields left out stay as they are.")
class UpdateOpportunityInput:
    id: strawberry.ID = strawberry.field(description="The opportunity.")
    name: str | None = strawberry.field(default=U, description="Deal name.")
    amount: Decimal | None = strawberry.field(default=U, description="Expected value.")
    currency: str | None = strawberry.field(default=U, description="ISO 4217 code.")
    close_date: datetime.date | None = strawberry.field(default=U, description="Expected close date.")
    probability: int | None = strawberry.field(default=U, description="Win probability, 0–100.")
    forecast_category: ForecastCategoryType | None = strawberry.field(default=U, description="Forecast bucket.")  # type: ignore[valid-type]
    margin: Decimal | None = strawberry.field(default=U, description="Margin fraction (internal-only).")
    internal_notes: str | None = strawberry.field(default=U, description="Internal notes (internal-only).")
    budget: Decimal | None = strawberry.field(default=U, description="The customer's budget, in the deal's currency.")
    decision_date: datetime.date | None = strawberry.field(default=U, description="When the customer decides.")
    expected_version: int | None = expected_version_field()


@strawberry.input(description="Move an opportunity to another stage, through the stage's gate.")
class MoveOpportunityStageInput:
    id: strawberry.ID = strawberry.field(description="The opportunity.")
    stage: StageType = strawberry.field(description="The new stage.")  # type: ignore[valid-type]
    reason: str | None = strawberry.field(default=None, description="Why; required to move back or reopen.")
    reason_code: CloseReasonType | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Why it was won or lost; required to close."
    )
    competitor: str | None = strawberry.field(default=None, description="Who won it, when lost and known.")
    expected_version: int | None = expected_version_field()


@strawberry.input(description="Configure what entering a stage requires (admins).")
class SetStageGateInput:
    stage: StageType = strawberry.field(description="The stage.")  # type: ignore[valid-type]
    required_fields: list[str] = strawberry.field(description="Of budget, decisionDate, margin, closeDate.")
    require_decision_maker: bool = strawberry.field(description="A decision maker must be in the buying centre.")
    required_team_roles: list[SalesRoleType] = strawberry.field(description="Roles that must be on the team.")  # type: ignore[valid-type]
    requires_approval: bool = strawberry.field(description="A manager must approve entering it.")


@strawberry.type(name="StageGate", description="What entering a stage requires.")
class StageGateType:
    stage: StageType = strawberry.field(description="The stage.")  # type: ignore[valid-type]
    required_fields: list[str] = strawberry.field(description="Fields that must be filled.")
    require_decision_maker: bool = strawberry.field(
        description="Whether a decision maker must be in the buying centre."
    )
    required_team_roles: list[SalesRoleType] = strawberry.field(description="Roles that must be on the team.")  # type: ignore[valid-type]
    requires_approval: bool = strawberry.field(description="Whether a manager must approve.")

    @classmethod
    def from_row(cls, row: StageGate) -> StageGateType:
        return cls(
            stage=row.stage,
            required_fields=[stage_gates.GATE_FIELDS[f] for f in row.required_fields],
            require_decision_maker=row.require_decision_maker,
            required_team_roles=[SalesRole(r) for r in row.required_team_roles],
            requires_approval=row.requires_approval,
        )


ApprovalStatusType = strawberry.enum(ApprovalStatus, name="ApprovalStatus", description="Where an approval stands.")
describe_values(
    ApprovalStatusType,
    {
        "REQUESTED": "Waiting for a manager's decision.",
        "APPROVED": "Approved: the deal may enter the stage.",
        "REJECTED": "Rejected: the deal stays where it is.",
    },
)


@strawberry.type(name="StageApproval", description="A request to enter a gated stage and its decision.")
class StageApprovalType(Node):
    id: strawberry.ID = strawberry.field(description="Global ID; pass it to decideStageApproval.")
    row: strawberry.Private[StageApproval]

    @classmethod
    def from_row(cls, row: StageApproval) -> StageApprovalType:
        return cls(id=to_global_id("StageApproval", row.id), row=row)

    @strawberry.field(description="The stage.")
    def stage(self) -> StageType:  # type: ignore[valid-type]
        return self.row.stage

    @strawberry.field(description="Requested, approved or rejected.")
    def status(self) -> ApprovalStatusType:  # type: ignore[valid-type]
        return self.row.status

    @strawberry.field(description="The manager's reason.")
    def reason(self) -> str | None:
        return self.row.reason

    @strawberry.field(description="When it was requested (UTC).")
    def requested_at(self) -> datetime.datetime:
        return self.row.created_at

    @strawberry.field(description="Who asked, when the viewer may see them.")
    async def requested_by(self, info: Info) -> UserType | None:
        found = await load(info, "User", self.row.requested_by_id)
        return UserType.from_row(found) if found else None

    @strawberry.field(description="When it was decided (UTC); null while it waits.")
    def decided_at(self) -> datetime.datetime | None:
        return self.row.decided_at

    @strawberry.field(description="The opportunity, when the viewer may see it.")
    async def opportunity(self, info: Info) -> OpportunityType | None:
        found = await load(info, "Opportunity", self.row.opportunity_id)
        return OpportunityType.from_row(found) if found else None


@strawberry.type(description="The result of a stage gate or approval mutation.")
class StageGatePayload:
    gate: StageGateType | None = strawberry.field(description="The gate; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type(description="The result of a stage approval mutation.")
class StageApprovalPayload:
    approval: StageApprovalType | None = strawberry.field(description="The approval; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


FieldGroupType = strawberry.enum(FieldGroup, name="FieldGroup", description="A group of deal fields team rules govern.")
describe_values(
    FieldGroupType,
    {
        "COMMERCIAL": "Amount, currency, budget, margin, probability, forecast and close date.",
        "DETAILS": "Name, decision date and internal notes.",
        "STAGE": "Moving the deal from one stage to another.",
    },
)


@strawberry.input(description="One cell of the team access table: may a sales role change a field group in a stage.")
class SetTeamStageRuleInput:
    sales_role: SalesRoleType = strawberry.field(description="The team role.")  # type: ignore[valid-type]
    stage: StageType = strawberry.field(description="The stage.")  # type: ignore[valid-type]
    field_group: FieldGroupType = strawberry.field(description="COMMERCIAL, DETAILS or STAGE (moving it).")  # type: ignore[valid-type]
    can_edit: bool = strawberry.field(description="Whether members in that role may change it in that stage.")


@strawberry.type(name="TeamStageRule", description="One cell of the team access table.")
class TeamStageRuleType:
    sales_role: SalesRoleType = strawberry.field(description="The team role.")  # type: ignore[valid-type]
    stage: StageType = strawberry.field(description="The stage.")  # type: ignore[valid-type]
    field_group: FieldGroupType = strawberry.field(description="The field group.")  # type: ignore[valid-type]
    can_edit: bool = strawberry.field(description="Whether they may change it.")

    @classmethod
    def from_row(cls, row: TeamStageRule) -> TeamStageRuleType:
        return cls(sales_role=row.sales_role, stage=row.stage, field_group=row.field_group, can_edit=row.can_edit)


@strawberry.type(description="The result of setting a team access rule.")
class TeamStageRulePayload:
    rule: TeamStageRuleType | None = strawberry.field(description="The rule; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.input(description="Decide a stage approval.")
class DecideStageApprovalInput:
    id: strawberry.ID = strawberry.field(description="The approval.")
    approve: bool = strawberry.field(description="true approves, false rejects.")
    reason: str | None = strawberry.field(default=None, description="Why; required to reject.")


@strawberry.input(description="Put a user on an opportunity's team.")
class AddTeamMemberInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    user_id: strawberry.ID = strawberry.field(description="The user to add.")
    sales_role: SalesRoleType = strawberry.field(description="Their part in the sale.")  # type: ignore[valid-type]
    access: TeamAccessType = strawberry.field(description="READ or EDIT.")  # type: ignore[valid-type]


@strawberry.input(description="Take a user off an opportunity's team.")
class RemoveTeamMemberInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    user_id: strawberry.ID = strawberry.field(description="The user to remove.")
    reason: str | None = strawberry.field(default=None, description="Why (kept in the audit trail).")


@strawberry.input(description="Hand a team member's seat to someone else.")
class SwapTeamMemberInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    outgoing_user_id: strawberry.ID = strawberry.field(description="Who leaves the team.")
    incoming_user_id: strawberry.ID = strawberry.field(description="Who takes their sales role and access.")
    reason: str = strawberry.field(description="Why (required, kept in the audit trail).")


@strawberry.input(description="Hand an opportunity to another owner.")
class TransferOwnershipInput:
    id: strawberry.ID = strawberry.field(description="The opportunity.")
    new_owner_id: strawberry.ID = strawberry.field(description="The new owner.")
    reason: str = strawberry.field(description="Why (required, kept in the audit trail).")
    keep_previous_owner_on_team: bool = strawberry.field(
        default=False, description="Keep the previous owner on the team with READ access."
    )
    expected_version: int | None = expected_version_field()


@strawberry.input(description="Link a partner organization to an opportunity.")
class LinkPartnerInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    organization_id: strawberry.ID = strawberry.field(description="The partner organization.")
    role: PartnerRoleType = strawberry.field(description="Sourcing, fulfilling or influencing.")  # type: ignore[valid-type]


@strawberry.input(description="Remove a partner organization's link to an opportunity.")
class UnlinkPartnerInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    organization_id: strawberry.ID = strawberry.field(description="The partner organization.")


@strawberry.input(description="Put a contact in the buying centre, or change their role and attitude.")
class SetBuyingCentreContactInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    contact_id: strawberry.ID = strawberry.field(description="A contact of the opportunity's account.")
    role: BuyingRoleType = strawberry.field(description="Their part in the decision.")  # type: ignore[valid-type]
    attitude: AttitudeType = strawberry.field(description="How they lean.")  # type: ignore[valid-type]


@strawberry.input(description="Take a contact out of the buying centre.")
class RemoveBuyingCentreContactInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    contact_id: strawberry.ID = strawberry.field(description="The contact.")


@strawberry.input(description="Record a competitor in the deal, or update it (internal roles only).")
class SetCompetitorInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    name: str = strawberry.field(description="The competitor's name (one entry per name).")
    status: CompetitorStatusType = strawberry.field(description="Its standing.")  # type: ignore[valid-type]
    notes: str | None = strawberry.field(default=None, description="What we know of their offer.")


@strawberry.type(description="The result of an opportunity mutation.")
class OpportunityPayload:
    opportunity: OpportunityType | None = strawberry.field(
        description="The opportunity as it now is; null when errors."
    )
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def _failed(errors: list[UserError]) -> OpportunityPayload:
    return OpportunityPayload(opportunity=None, errors=errors)


def _succeeded(row: Opportunity | None) -> OpportunityPayload:
    return OpportunityPayload(opportunity=OpportunityType.from_row(row) if row else None, errors=[])


async def _run(info: Info, change: Callable[[UnitOfWork], Awaitable[Opportunity]]) -> OpportunityPayload:
    """Run one change of an opportunity and answer with the opportunity as the caller may now see it."""
    return await mutate(info, change, payload=_succeeded, failed=_failed, node="Opportunity")


def _gate_set(gate: StageGate) -> StageGatePayload:
    return StageGatePayload(gate=StageGateType.from_row(gate), errors=[])


def _rule_set(rule: TeamStageRule) -> TeamStageRulePayload:
    return TeamStageRulePayload(rule=TeamStageRuleType.from_row(rule), errors=[])


def _approval(row: StageApproval | None) -> StageApprovalPayload:
    return StageApprovalPayload(approval=StageApprovalType.from_row(row) if row else None, errors=[])


def _approval_failed(errors: list[UserError]) -> StageApprovalPayload:
    return StageApprovalPayload(approval=None, errors=errors)


@strawberry.type
class OpportunityMutations:
    @strawberry.mutation(description="Open an opportunity. A partner user's deals are linked to their organization.")
    async def create_opportunity(self, info: Info, input: CreateOpportunityInput) -> OpportunityPayload:
        async def create(uow: UnitOfWork) -> Opportunity:
            # An optional field left null is left out.
            changes = OpportunityChanges(
                name=input.name,
                amount=input.amount,
                currency=input.currency,
                close_date=input.close_date,
                margin=UNSET if input.margin is None else input.margin,
                internal_notes=UNSET if input.internal_notes is None else input.internal_notes,
                budget=UNSET if input.budget is None else input.budget,
                decision_date=UNSET if input.decision_date is None else input.decision_date,
            )
            return await opportunity_changes.create_opportunity(
                uow,
                id_of(input.account_id, "Account", "accountId"),
                changes,
                owner_id=id_of(input.owner_id, "User", "ownerId") if input.owner_id else None,
                stage=input.stage,
                pipeline_id=optional_id_of(input.pipeline_id, "Pipeline", "pipelineId"),
            )

        return await mutate(
            info,
            create,
            payload=_succeeded,
            failed=_failed,
            node="Opportunity",
            idempotency_key=input.idempotency_key,
            request=input,
        )

    @strawberry.mutation(description="Change an opportunity the caller may edit.")
    async def update_opportunity(self, info: Info, input: UpdateOpportunityInput) -> OpportunityPayload:
        async def change(uow: UnitOfWork) -> Opportunity:
            changes = OpportunityChanges(
                name=patch(input.name),
                amount=patch(input.amount),
                currency=patch(input.currency),
                close_date=patch(input.close_date),
                probability=patch(input.probability),
                forecast_category=patch(input.forecast_category),
                margin=patch(input.margin),
                internal_notes=patch(input.internal_notes),
                budget=patch(input.budget),
                decision_date=patch(input.decision_date),
            )
            return await opportunity_changes.update_opportunity(
                uow, id_of(input.id, "Opportunity", "id"), changes, expected_version=input.expected_version
            )

        return await _run(info, change)

    @strawberry.mutation(description="Move an opportunity to another stage; probability and forecast follow the stage.")
    async def move_opportunity_stage(self, info: Info, input: MoveOpportunityStageInput) -> OpportunityPayload:
        async def change(uow: UnitOfWork) -> Opportunity:
            return await stage_gates.move_stage(
                uow,
                id_of(input.id, "Opportunity", "id"),
                input.stage,
                reason=input.reason,
                reason_code=input.reason_code,
                competitor=input.competitor,
                expected_version=input.expected_version,
            )

        return await _run(info, change)

    @strawberry.mutation(description="Configure what entering a stage requires (admins).")
    async def set_stage_gate(self, info: Info, input: SetStageGateInput) -> StageGatePayload:
        async def change(uow: UnitOfWork) -> StageGate:
            return await stage_gates.set_gate(
                uow,
                input.stage,
                required_fields=list(input.required_fields),
                require_decision_maker=input.require_decision_maker,
                required_team_roles=list(input.required_team_roles),
                requires_approval=input.requires_approval,
            )

        return await mutate(
            info, change, payload=_gate_set, failed=lambda errors: StageGatePayload(gate=None, errors=errors)
        )

    @strawberry.mutation(description="Set one cell of the team access table (admins).")
    async def set_team_stage_rule(self, info: Info, input: SetTeamStageRuleInput) -> TeamStageRulePayload:
        async def change(uow: UnitOfWork) -> TeamStageRule:
            return await team_stage_rules.set_rule(
                uow, input.sales_role, input.stage, input.field_group, input.can_edit
            )

        return await mutate(
            info, change, payload=_rule_set, failed=lambda errors: TeamStageRulePayload(rule=None, errors=errors)
        )

    @described_arguments(opportunity_id="The opportunity to move.", stage="The gated stage it should enter.")
    @strawberry.mutation(description="Ask a manager to let the opportunity into a gated stage.")
    async def request_stage_approval(
        self,
        info: Info,
        opportunity_id: strawberry.ID,
        stage: StageType,  # type: ignore[valid-type]
    ) -> StageApprovalPayload:
        async def change(uow: UnitOfWork) -> StageApproval:
            return await stage_gates.request_approval(uow, id_of(opportunity_id, "Opportunity", "opportunityId"), stage)

        return await mutate(info, change, payload=_approval, failed=_approval_failed, node="StageApproval")

    @strawberry.mutation(description="Approve or reject a stage approval (managers of the opportunity).")
    async def decide_stage_approval(self, info: Info, input: DecideStageApprovalInput) -> StageApprovalPayload:
        async def change(uow: UnitOfWork) -> StageApproval:
            return await stage_gates.decide_approval(
                uow, id_of(input.id, "StageApproval", "id"), input.approve, input.reason
            )

        return await mutate(info, change, payload=_approval, failed=_approval_failed, node="StageApproval")

    @strawberry.mutation(description="Put a user on an opportunity's team.")
    async def add_opportunity_team_member(self, info: Info, input: AddTeamMemberInput) -> OpportunityPayload:
        async def change(uow: UnitOfWork) -> Opportunity:
            return await uc.add_team_member(
                uow,
                id_of(input.opportunity_id, "Opportunity", "opportunityId"),
                id_of(input.user_id, "User", "userId"),
                input.sales_role,
                input.access,
            )

        return await _run(info, change)

    @strawberry.mutation(description="Take a user off an opportunity's team.")
    async def remove_opportunity_team_member(self, info: Info, input: RemoveTeamMemberInput) -> OpportunityPayload:
        async def change(uow: UnitOfWork) -> Opportunity:
            return await uc.remove_team_member(
                uow,
                id_of(input.opportunity_id, "Opportunity", "opportunityId"),
                id_of(input.user_id, "User", "userId"),
                input.reason,
            )

        return await _run(info, change)

    @strawberry.mutation(description="Hand a team seat to someone else, with a reason (same role and access).")
    async def swap_opportunity_team_member(self, info: Info, input: SwapTeamMemberInput) -> OpportunityPayload:
        async def change(uow: UnitOfWork) -> Opportunity:
            return await uc.swap_team_member(
                uow,
                id_of(input.opportunity_id, "Opportunity", "opportunityId"),
                id_of(input.outgoing_user_id, "User", "outgoingUserId"),
                id_of(input.incoming_user_id, "User", "incomingUserId"),
                input.reason,
            )

        return await _run(info, change)

    @strawberry.mutation(description="Hand an opportunity to another owner, with a reason.")
    async def transfer_opportunity_ownership(self, info: Info, input: TransferOwnershipInput) -> OpportunityPayload:
        async def change(uow: UnitOfWork) -> Opportunity:
            return await uc.transfer_ownership(
                uow,
                id_of(input.id, "Opportunity", "id"),
                id_of(input.new_owner_id, "User", "newOwnerId"),
                input.reason,
                keep_previous_owner_on_team=input.keep_previous_owner_on_team,
                expected_version=input.expected_version,
            )

        return await _run(info, change)

    @strawberry.mutation(description="Put a contact in the opportunity's buying centre, or change their role.")
    async def set_buying_centre_contact(self, info: Info, input: SetBuyingCentreContactInput) -> OpportunityPayload:
        async def change(uow: UnitOfWork) -> Opportunity:
            return await buying_centre.set_contact_role(
                uow,
                id_of(input.opportunity_id, "Opportunity", "opportunityId"),
                id_of(input.contact_id, "Contact", "contactId"),
                input.role,
                input.attitude,
            )

        return await _run(info, change)

    @strawberry.mutation(description="Take a contact out of the opportunity's buying centre.")
    async def remove_buying_centre_contact(
        self, info: Info, input: RemoveBuyingCentreContactInput
    ) -> OpportunityPayload:
        async def change(uow: UnitOfWork) -> Opportunity:
            return await buying_centre.remove_contact(
                uow,
                id_of(input.opportunity_id, "Opportunity", "opportunityId"),
                id_of(input.contact_id, "Contact", "contactId"),
            )

        return await _run(info, change)

    @strawberry.mutation(description="Record or update a competitor in the deal (internal roles only).")
    async def set_opportunity_competitor(self, info: Info, input: SetCompetitorInput) -> OpportunityPayload:
        async def change(uow: UnitOfWork) -> Opportunity:
            return await buying_centre.set_competitor(
                uow,
                id_of(input.opportunity_id, "Opportunity", "opportunityId"),
                input.name,
                input.status,
                input.notes,
            )

        return await _run(info, change)

    @strawberry.mutation(description="Link a partner organization to an opportunity.")
    async def link_opportunity_partner(self, info: Info, input: LinkPartnerInput) -> OpportunityPayload:
        async def change(uow: UnitOfWork) -> Opportunity:
            return await uc.link_partner(
                uow,
                id_of(input.opportunity_id, "Opportunity", "opportunityId"),
                id_of(input.organization_id, "Organization", "organizationId"),
                input.role,
            )

        return await _run(info, change)

    @strawberry.mutation(description="Remove a partner organization's link to an opportunity.")
    async def unlink_opportunity_partner(self, info: Info, input: UnlinkPartnerInput) -> OpportunityPayload:
        async def change(uow: UnitOfWork) -> Opportunity:
            return await uc.unlink_partner(
                uow,
                id_of(input.opportunity_id, "Opportunity", "opportunityId"),
                id_of(input.organization_id, "Organization", "organizationId"),
            )

        return await _run(info, change)
