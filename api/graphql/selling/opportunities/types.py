"""GraphQL types for opportunities, their teams, their partner links, stage gates, approvals and team rules."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, TypeAlias

import strawberry
from strawberry.types import Info

from api.graphql.channel.directory.types import OrganizationType, TerritoryType, UserType
from api.graphql.descriptions import describe_values
from api.graphql.errors import query_value
from api.graphql.record_versions import VERSION_DESCRIPTION
from api.graphql.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, Node, to_global_id
from api.graphql.resolving import child_connection, ctx, load
from api.graphql.selling.accounts.types import AccountType, BuyingRoleType, ContactType
from domain.selling import stage_gates
from domain.selling.activities import Activity, activities_query
from domain.selling.buying_centre import Attitude, CompetitorStatus, OpportunityCompetitor, OpportunityContact
from domain.selling.opportunities import (
    Opportunity,
    OpportunityPartner,
    OpportunityTeamMember,
    PartnerRole,
    SalesRole,
    TeamAccess,
    require_internal_read,
)
from domain.selling.stage_gates import ApprovalStatus, StageApproval, StageGate
from domain.selling.stages import CloseReason, ForecastCategory, Stage
from domain.selling.team_stage_rules import FieldGroup, TeamStageRule

if TYPE_CHECKING:
    from api.graphql.selling.activities.types import ActivityType
    from api.graphql.selling.pipelines.graphql import PipelineType

ActivityRef = Annotated["ActivityType", strawberry.lazy("api.graphql.selling.activities.types")]

CloseReasonType: TypeAlias = CloseReason
strawberry.enum(CloseReasonType, name="CloseReason", description="Why a deal was won or lost.")
describe_values(
    CloseReasonType,
    {
        "PRICE": "Decided by price.",
        "PRODUCT_FIT": "Decided by how well the product fits.",
        "RELATIONSHIP": "Decided by the relationship.",
        "PARTNER": "Decided by a partner's part in the deal.",
        "COMPETITOR": "Decided by a competitor's offer.",
        "NO_DECISION": "The customer decided not to buy at all.",
        "BUDGET": "Decided by the customer's budget.",
        "TIMING": "Decided by timing.",
        "OTHER": "Another reason (see the notes).",
    },
)
StageType: TypeAlias = Stage
strawberry.enum(StageType, name="OpportunityStage", description="Sales stage, in order; the last two are closed.")
describe_values(
    StageType,
    {
        "PROSPECTING": "Finding out whether there is a deal.",
        "QUALIFICATION": "Checking need, budget and authority.",
        "SOLUTION": "Shaping the solution with the customer.",
        "PROPOSAL": "An offer is on the table.",
        "NEGOTIATION": "Agreeing the terms.",
        "CLOSED_WON": "Won.",
        "CLOSED_LOST": "Lost.",
    },
)
ForecastCategoryType: TypeAlias = ForecastCategory
strawberry.enum(ForecastCategoryType, name="ForecastCategory", description="Forecast bucket.")
describe_values(
    ForecastCategoryType,
    {
        "PIPELINE": "Open, not yet likely.",
        "BEST_CASE": "Could close in the period if things go well.",
        "COMMIT": "Expected to close in the period.",
        "CLOSED": "Won and closed.",
        "OMITTED": "Left out of the forecast (a lost deal, say).",
    },
)
SalesRoleType: TypeAlias = SalesRole
strawberry.enum(SalesRoleType, name="SalesRole", description="The part a team member plays in the sale.")
describe_values(
    SalesRoleType,
    {
        "ACCOUNT_MANAGER": "Owns the customer relationship.",
        "SOLUTION_SPECIALIST": "Designs the solution.",
        "INDUSTRY_SPECIALIST": "Knows the customer's industry.",
        "PRODUCT_SPECIALIST": "Knows the products.",
        "NEGOTIATOR": "Negotiates the terms.",
        "CHANNEL_MANAGER": "Manages the partners in the deal.",
        "PARTNER_REP": "Represents a partner on the team.",
    },
)
TeamAccessType: TypeAlias = TeamAccess
strawberry.enum(TeamAccessType, name="TeamAccess", description="What a team member may do to the deal.")
describe_values(
    TeamAccessType,
    {
        "READ": "Sees the deal.",
        "EDIT": "Sees and changes the deal, as the team rules of its stage allow.",
    },
)
PartnerRoleType: TypeAlias = PartnerRole
strawberry.enum(PartnerRoleType, name="PartnerRole", description="A partner's part in a deal.")
describe_values(
    PartnerRoleType,
    {
        "SOURCING": "Brought the deal in.",
        "FULFILLING": "Delivers what is sold.",
        "INFLUENCING": "Helps win the deal.",
    },
)


@strawberry.type(description="An amount of money in one currency.")
class Money:
    amount: Decimal = strawberry.field(description="Decimal amount: two places for totals, up to four for unit prices.")
    currency: str = strawberry.field(description="ISO 4217 code, e.g. USD.")


def _require_internal_read(info: Info, field: str) -> None:
    """A FORBIDDEN error for an internal-only field the viewer's role may not read."""
    query_value(lambda: require_internal_read(ctx(info).access, field))


@strawberry.type(name="Opportunity", description="A potential sale to an account, owned by one user, worked by a team.")
class OpportunityType(Node):
    row: strawberry.Private[Opportunity]

    @classmethod
    def from_row(cls, row: Opportunity) -> OpportunityType:
        return cls(id=to_global_id("Opportunity", row.id), row=row)

    @strawberry.field(description=VERSION_DESCRIPTION)
    def version(self) -> int:
        return self.row.row_version

    @strawberry.field(description="Short name of the deal.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="Current sales stage.")
    def stage(self) -> StageType:
        return self.row.stage

    @strawberry.field(description="Expected deal value.")
    def amount(self) -> Money:
        return Money(amount=self.row.amount, currency=self.row.currency)

    @strawberry.field(description="Expected close date.")
    def close_date(self) -> date | None:
        return self.row.close_date

    @strawberry.field(description="Win probability in percent (0–100).")
    def probability(self) -> int:
        return self.row.probability

    @strawberry.field(description="Forecast bucket.")
    def forecast_category(self) -> ForecastCategoryType:
        return self.row.forecast_category

    @strawberry.field(
        description='Where the deal came from, e.g. "lead:web_form:Spring fair"; null when entered directly.'
    )
    def source(self) -> str | None:
        return self.row.source

    @strawberry.field(description="The customer's budget, in the deal's currency.")
    def budget(self) -> Money | None:
        return None if self.row.budget is None else Money(amount=self.row.budget, currency=self.row.currency)

    @strawberry.field(description="When the customer expects to decide.")
    def decision_date(self) -> date | None:
        return self.row.decision_date

    # Why a deal closed is the enterprise's own analysis (a code of COMPETITOR, a note naming who and at what
    # price), so it follows the same rule as who won: internal-only.
    @strawberry.field(
        description="Why it was won or lost (closed deals). Internal-only: partner roles get a FORBIDDEN error."
    )
    def close_reason_code(self, info: Info) -> CloseReasonType | None:
        _require_internal_read(info, "closeReasonCode")
        return self.row.close_reason_code

    @strawberry.field(description="The closing note. Internal-only: partner roles get a FORBIDDEN error.")
    def close_reason(self, info: Info) -> str | None:
        _require_internal_read(info, "closeReason")
        return self.row.close_reason

    @strawberry.field(description="Who won it when we lost. Internal-only: partner roles get a FORBIDDEN error.")
    def lost_to_competitor(self, info: Info) -> str | None:
        _require_internal_read(info, "lostToCompetitor")
        return self.row.lost_to_competitor

    @strawberry.field(description="The pipeline it follows; null when the tenant has none.")
    async def pipeline(
        self, info: Info
    ) -> Annotated[PipelineType, strawberry.lazy("api.graphql.selling.pipelines.graphql")] | None:
        from api.graphql.selling.pipelines.graphql import PipelineType  # its module imports this one

        if self.row.pipeline_id is None:
            return None
        row = await ctx(info).loaders.pipelines.load(self.row.pipeline_id)
        return PipelineType.from_row(row) if row else None

    @strawberry.field(description="Whether the deal is closed (won or lost).")
    def is_closed(self) -> bool:
        return self.row.stage.is_closed

    @strawberry.field(description="When the opportunity was created (UTC).")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When the opportunity last changed (UTC).")
    def updated_at(self) -> datetime:
        return self.row.updated_at

    @strawberry.field(
        description="Expected margin as a fraction (0.25 = 25%). Internal-only: partner roles get a FORBIDDEN error."
    )
    def margin(self, info: Info) -> Decimal | None:
        _require_internal_read(info, "margin")
        return self.row.margin

    @strawberry.field(description="Internal notes. Internal-only: partner roles get a FORBIDDEN error.")
    def internal_notes(self, info: Info) -> str | None:
        _require_internal_read(info, "internalNotes")
        return self.row.internal_notes

    @strawberry.field(description="The account, when the viewer may see it.")
    async def account(self, info: Info) -> AccountType | None:
        row = await load(info, "Account", self.row.account_id)
        return AccountType.from_row(row) if row else None

    @strawberry.field(description="The owner, when the viewer may see them (partners do not see internal users).")
    async def owner(self, info: Info) -> UserType | None:
        row = await load(info, "User", self.row.owner_id)
        return UserType.from_row(row) if row else None

    @strawberry.field(description="The territory, when the viewer may see it.")
    async def territory(self, info: Info) -> TerritoryType | None:
        row = await load(info, "Territory", self.row.territory_id)
        return TerritoryType.from_row(row) if row else None

    @strawberry.field(description="People working the deal besides the owner, in the order they joined.")
    async def team(self, info: Info) -> list[TeamMemberType]:
        rows = await ctx(info).loaders.team_by_opportunity.load(self.row.id)
        return [TeamMemberType(row=r) for r in rows]

    @strawberry.field(description="The buying centre: contacts with their role and attitude, in the order added.")
    async def buying_centre(self, info: Info) -> list[BuyingCentreMember]:
        rows = await ctx(info).loaders.buying_centre_by_opportunity.load(self.row.id)
        return [BuyingCentreMember(row=r) for r in rows]

    @strawberry.field(description="Competitors in the deal. Internal-only: partner roles get a FORBIDDEN error.")
    async def competitors(self, info: Info) -> list[Competitor] | None:
        _require_internal_read(info, "competitors")
        rows = await ctx(info).loaders.competitors_by_opportunity.load(self.row.id)
        return [Competitor(row=r) for r in rows]

    @strawberry.field(description="Partner organizations linked to the deal that the viewer may see.")
    async def partners(self, info: Info) -> list[OpportunityPartnerType]:
        rows = await ctx(info).loaders.partners_by_opportunity.load(self.row.id)
        linked = [OpportunityPartnerType(row=r) for r in rows]
        organizations = await ctx(info).loaders.by_type["Organization"].load_many([r.organization_id for r in rows])
        return [link for link, org in zip(linked, organizations, strict=True) if org is not None]

    @strawberry.field(description="The deal's timeline: activities the viewer may see, most recent first.")
    async def activities(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[ActivityRef]:
        from api.graphql.selling.activities.types import ActivityType  # its module imports this one

        loaders = ctx(info).loaders
        return await child_connection(
            info,
            parent_id=self.row.id,
            first=first,
            after=after,
            last=last,
            before=before,
            page_loader=loaders.activities_by_opportunity,
            count_loader=loaders.count_activities_by_opportunity,
            query=lambda uow: activities_query(uow, opportunity_id=self.row.id),
            sort_column=Activity.occurred_at,
            id_column=Activity.id,
            to_node=ActivityType.from_row,
        )


AttitudeType: TypeAlias = Attitude
strawberry.enum(AttitudeType, name="BuyingAttitude", description="How a contact leans on the deal.")
describe_values(
    AttitudeType,
    {
        "SUPPORTER": "Favours us.",
        "NEUTRAL": "Leans neither way.",
        "SKEPTIC": "Doubts us.",
        "OPPONENT": "Works against us.",
        "UNKNOWN": "Not yet known.",
    },
)
CompetitorStatusType: TypeAlias = CompetitorStatus
strawberry.enum(CompetitorStatusType, name="CompetitorStatus", description="A competitor's standing.")
describe_values(
    CompetitorStatusType,
    {
        "ACTIVE": "Still in the running.",
        "ELIMINATED": "Out of the running.",
        "PREFERRED": "The customer's current favourite.",
    },
)


@strawberry.type(description="A contact in an opportunity's buying centre.")
class BuyingCentreMember:
    row: strawberry.Private[OpportunityContact]

    @strawberry.field(description="Their part in the decision.")
    def role(self) -> BuyingRoleType:
        return self.row.role

    @strawberry.field(description="How they lean.")
    def attitude(self) -> AttitudeType:
        return self.row.attitude

    @strawberry.field(description="The contact, when the viewer may see them.")
    async def contact(self, info: Info) -> ContactType | None:
        row = await load(info, "Contact", self.row.contact_id)
        return ContactType.from_row(row) if row else None


@strawberry.type(description="A competitor in the deal (internal-only).")
class Competitor:
    row: strawberry.Private[OpportunityCompetitor]

    @strawberry.field(description="The competitor's name.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="Active, eliminated, or preferred by the customer.")
    def status(self) -> CompetitorStatusType:
        return self.row.status

    @strawberry.field(description="What we know of their offer.")
    def notes(self) -> str | None:
        return self.row.notes


@strawberry.type(name="OpportunityTeamMember", description="A user on an opportunity's team.")
class TeamMemberType:
    row: strawberry.Private[OpportunityTeamMember]

    @strawberry.field(description="Their sales role on this deal.")
    def sales_role(self) -> SalesRoleType:
        return self.row.sales_role

    @strawberry.field(description="READ or EDIT.")
    def access(self) -> TeamAccessType:
        return self.row.access

    @strawberry.field(description="When they joined the team (UTC).")
    def joined_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="The user, when the viewer may see them.")
    async def user(self, info: Info) -> UserType | None:
        row = await load(info, "User", self.row.user_id)
        return UserType.from_row(row) if row else None


@strawberry.type(name="OpportunityPartner", description="A partner organization's link to an opportunity.")
class OpportunityPartnerType:
    row: strawberry.Private[OpportunityPartner]

    @strawberry.field(description="Sourcing, fulfilling or influencing.")
    def role(self) -> PartnerRoleType:
        return self.row.role

    @strawberry.field(description="The partner organization.")
    async def organization(self, info: Info) -> OrganizationType:
        row = await load(info, "Organization", self.row.organization_id)
        return OrganizationType.from_row(row)


@strawberry.type(name="StageGate", description="What entering a stage requires.")
class StageGateType:
    stage: StageType = strawberry.field(description="The stage.")
    required_fields: list[str] = strawberry.field(description="Fields that must be filled.")
    require_decision_maker: bool = strawberry.field(
        description="Whether a decision maker must be in the buying centre."
    )
    required_team_roles: list[SalesRoleType] = strawberry.field(description="Roles that must be on the team.")
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


ApprovalStatusType: TypeAlias = ApprovalStatus
strawberry.enum(ApprovalStatusType, name="ApprovalStatus", description="Where an approval stands.")
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
    def stage(self) -> StageType:
        return self.row.stage

    @strawberry.field(description="Requested, approved or rejected.")
    def status(self) -> ApprovalStatusType:
        return self.row.status

    @strawberry.field(description="The manager's reason.")
    def reason(self) -> str | None:
        return self.row.reason

    @strawberry.field(description="When it was requested (UTC).")
    def requested_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="Who asked, when the viewer may see them.")
    async def requested_by(self, info: Info) -> UserType | None:
        found = await load(info, "User", self.row.requested_by_id)
        return UserType.from_row(found) if found else None

    @strawberry.field(description="When it was decided (UTC); null while it waits.")
    def decided_at(self) -> datetime | None:
        return self.row.decided_at

    @strawberry.field(description="The opportunity, when the viewer may see it.")
    async def opportunity(self, info: Info) -> OpportunityType | None:
        found = await load(info, "Opportunity", self.row.opportunity_id)
        return OpportunityType.from_row(found) if found else None


FieldGroupType: TypeAlias = FieldGroup
strawberry.enum(FieldGroupType, name="FieldGroup", description="A group of deal fields team rules govern.")
describe_values(
    FieldGroupType,
    {
        "COMMERCIAL": "Amount, currency, budget, margin, probability, forecast and close date.",
        "DETAILS": "Name, decision date and internal notes.",
        "STAGE": "Moving the deal from one stage to another.",
    },
)


@strawberry.type(name="TeamStageRule", description="One cell of the team access table.")
class TeamStageRuleType:
    sales_role: SalesRoleType = strawberry.field(description="The team role.")
    stage: StageType = strawberry.field(description="The stage.")
    field_group: FieldGroupType = strawberry.field(description="The field group.")
    can_edit: bool = strawberry.field(description="Whether they may change it.")

    @classmethod
    def from_row(cls, row: TeamStageRule) -> TeamStageRuleType:
        return cls(sales_role=row.sales_role, stage=row.stage, field_group=row.field_group, can_edit=row.can_edit)
