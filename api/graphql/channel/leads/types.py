"""GraphQL types for leads, their routing decisions and web forms."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TypeAlias

import strawberry
from strawberry.types import Info

from api.graphql.channel.directory.types import OrganizationType, TerritoryType, UserType
from api.graphql.descriptions import describe_values
from api.graphql.relay import Node, to_global_id
from api.graphql.resolving import load, read
from api.graphql.selling.accounts.types import AccountType
from api.graphql.selling.opportunities.types import OpportunityType
from domain.channel.lead_routing import RoutingDecision, RoutingOutcome, RoutingRule, RuleKind, routing_of
from domain.channel.leads import Lead, LeadSource, LeadStatus
from domain.channel.web_forms import WebForm

LeadStatusType: TypeAlias = LeadStatus
strawberry.enum(LeadStatusType, name="LeadStatus", description="Where a lead stands.")
describe_values(
    LeadStatusType,
    {
        "NEW": "Just in, not yet routed.",
        "ASSIGNED": "Given to an internal user.",
        "OFFERED": "Offered to a partner, who must accept or decline in time.",
        "ACCEPTED": "Accepted by the partner it was offered to.",
        "UNROUTED": "No rule placed it; waiting for a manager.",
        "CONVERTED": "Turned into an account, contact and opportunity.",
        "MERGED": "Merged into another lead.",
        "DISQUALIFIED": "Not worth pursuing.",
    },
)
LeadSourceType: TypeAlias = LeadSource
strawberry.enum(LeadSourceType, name="LeadSource", description="Where a lead came from.")
describe_values(
    LeadSourceType,
    {
        "WEB_FORM": "The public web form.",
        "API": "Entered through this API.",
        "PARTNER": "Brought in by a partner.",
        "EVENT": "Met at an event.",
        "REFERRAL": "Referred by someone.",
        "IMPORT": "Imported from a file.",
    },
)
RoutingOutcomeType: TypeAlias = RoutingOutcome
strawberry.enum(RoutingOutcomeType, name="RoutingOutcome", description="What a routing step did.")
describe_values(
    RoutingOutcomeType,
    {
        "ASSIGNED": "Assigned to an internal user.",
        "OFFERED": "Offered to a partner.",
        "ACCEPTED": "Accepted by the partner.",
        "DECLINED": "Declined by the partner; it went on to the next match.",
        "EXPIRED": "The partner did not answer in time; it went on to the next match.",
        "UNROUTED": "No rule placed it.",
        "MANUAL": "Assigned by hand by a manager.",
    },
)
RuleKindType: TypeAlias = RuleKind
strawberry.enum(RuleKindType, name="RoutingRuleKind", description="Internal round robin or partner offer.")
describe_values(
    RuleKindType,
    {
        "INTERNAL": "Round robin among internal users.",
        "PARTNER": "An offer to the best matching partner.",
    },
)
DUPLICATE_TYPES = {"lead": "Lead", "account": "Account"}


@strawberry.type(description="A record that looks like the same company, and why.")
class LeadDuplicate:
    record_id: strawberry.ID = strawberry.field(description="Global ID of the lead or account.")
    name: str = strawberry.field(description="Its company name.")
    reasons: list[str] = strawberry.field(description="Why it is taken for the same company.")


@strawberry.type(description="One step of a lead's routing and its reason.")
class RoutingStep:
    row: strawberry.Private[RoutingDecision]

    @strawberry.field(description="Assigned, offered, accepted, declined, expired, unrouted or manual.")
    def outcome(self) -> RoutingOutcomeType:
        return self.row.outcome

    @strawberry.field(description="Why, in words: the rule, the match, the score, the runners-up.")
    def reason(self) -> str:
        return self.row.reason

    @strawberry.field(description="When (UTC).")
    def decided_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="The user it went to, if any.")
    async def user(self, info: Info) -> UserType | None:
        row = await load(info, "User", self.row.user_id)
        return UserType.from_row(row) if row else None

    @strawberry.field(description="The partner it went to or came back from, if any.")
    async def organization(self, info: Info) -> OrganizationType | None:
        row = await load(info, "Organization", self.row.organization_id)
        return OrganizationType.from_row(row) if row else None


@strawberry.type(name="Lead", description="A prospective customer, where it came from, and who works it.")
class LeadType(Node):
    row: strawberry.Private[Lead]

    @classmethod
    def from_row(cls, row: Lead) -> LeadType:
        return cls(id=to_global_id("Lead", row.id), row=row)

    @strawberry.field(description="Company name as given.")
    def company_name(self) -> str:
        return self.row.company_name

    @strawberry.field(description="Contact's given name.")
    def first_name(self) -> str | None:
        return self.row.first_name

    @strawberry.field(description="Contact's family name.")
    def last_name(self) -> str:
        return self.row.last_name

    @strawberry.field(description="Contact e-mail.")
    def email(self) -> str | None:
        return self.row.email

    @strawberry.field(description="Contact phone.")
    def phone(self) -> str | None:
        return self.row.phone

    @strawberry.field(description="Contact's job title.")
    def title(self) -> str | None:
        return self.row.title

    @strawberry.field(description="Tax id, validated.")
    def tax_id(self) -> str | None:
        return self.row.tax_id

    @strawberry.field(description="Web domain.")
    def web_domain(self) -> str | None:
        return self.row.web_domain

    @strawberry.field(description="Product lines or topics of interest (lower case).")
    def interests(self) -> list[str]:
        return list(self.row.interests)

    @strawberry.field(description="What the prospect wrote.")
    def message(self) -> str | None:
        return self.row.message

    @strawberry.field(description="Where it came from.")
    def source(self) -> LeadSourceType:
        return self.row.source

    @strawberry.field(description="Campaign or form it came through.")
    def source_detail(self) -> str | None:
        return self.row.source_detail

    @strawberry.field(description="Status.")
    def status(self) -> LeadStatusType:
        return self.row.status

    @strawberry.field(description="When an offered partner must answer by.")
    def offer_expires_at(self) -> datetime | None:
        return self.row.offer_expires_at

    @strawberry.field(description="When it came in.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="The territory, when known and visible.")
    async def territory(self, info: Info) -> TerritoryType | None:
        row = await load(info, "Territory", self.row.territory_id)
        return TerritoryType.from_row(row) if row else None

    @strawberry.field(description="The internal user working it, when visible.")
    async def owner(self, info: Info) -> UserType | None:
        row = await load(info, "User", self.row.owner_id)
        return UserType.from_row(row) if row else None

    @strawberry.field(description="The partner it is offered to or accepted by, when visible.")
    async def partner(self, info: Info) -> OrganizationType | None:
        row = await load(info, "Organization", self.row.partner_organization_id)
        return OrganizationType.from_row(row) if row else None

    @strawberry.field(description="Leads and accounts that look like the same company, those the viewer may see.")
    async def duplicates(self, info: Info) -> list[LeadDuplicate]:
        found = []
        for d in self.row.duplicates:
            type_name = DUPLICATE_TYPES[d["kind"]]
            if await load(info, type_name, uuid.UUID(d["id"])) is not None:
                found.append(
                    LeadDuplicate(
                        record_id=to_global_id(type_name, d["id"]), name=d["name"], reasons=list(d["reasons"])
                    )
                )
        return found

    @strawberry.field(
        description="Why the lead went where it did, step by step. Managers only (it names other partners): for "
        "anyone else null, with a FORBIDDEN error on this field alone."
    )
    async def routing(self, info: Info) -> list[RoutingStep] | None:
        rows = await read(info, lambda uow: routing_of(uow, self.row))
        return [RoutingStep(row=r) for r in rows]

    @strawberry.field(description="The account it was converted into, when visible.")
    async def converted_account(self, info: Info) -> AccountType | None:
        row = await load(info, "Account", self.row.converted_account_id)
        return AccountType.from_row(row) if row else None

    @strawberry.field(description="The opportunity it was converted into, when visible.")
    async def converted_opportunity(self, info: Info) -> OpportunityType | None:
        row = await load(info, "Opportunity", self.row.converted_opportunity_id)
        return OpportunityType.from_row(row) if row else None


@strawberry.type(name="RoutingRule", description="A lead routing rule; rules are tried in position order.")
class RoutingRuleType(Node):
    id: strawberry.ID = strawberry.field(description="Global ID.")
    row: strawberry.Private[RoutingRule]

    @classmethod
    def from_row(cls, row: RoutingRule) -> RoutingRuleType:
        return cls(id=to_global_id("RoutingRule", row.id), row=row)

    @strawberry.field(description="Name, shown in routing reasons.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="Order among the rules.")
    def position(self) -> int:
        return self.row.position

    @strawberry.field(description="Internal round robin or partner distribution.")
    def kind(self) -> RuleKindType:
        return self.row.kind


@strawberry.type(
    name="WebForm", description="A public lead form; embed its key in the page that posts to /forms/{key}."
)
class WebFormType(Node):
    id: strawberry.ID = strawberry.field(description="Global ID.")
    row: strawberry.Private[WebForm]

    @classmethod
    def from_row(cls, row: WebForm) -> WebFormType:
        return cls(id=to_global_id("WebForm", row.id), row=row)

    @strawberry.field(description="Name.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="The public key in the form's address.")
    def key(self) -> str:
        return self.row.key

    @strawberry.field(description="Campaign recorded as the leads' source detail.")
    def campaign(self) -> str | None:
        return self.row.campaign
