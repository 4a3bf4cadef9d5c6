"""GraphQL types for deal registrations."""

from __future__ import annotations

from datetime import date, datetime
from typing import TypeAlias

import strawberry
from strawberry.types import Info

from api.graphql.channel.directory.types import OrganizationType, UserType
from api.graphql.descriptions import describe_values
from api.graphql.errors import query_value
from api.graphql.relay import Node, to_global_id
from api.graphql.resolving import ctx, load
from api.graphql.selling.accounts.types import AccountType
from api.graphql.selling.opportunities.types import Money, OpportunityType
from domain.channel.deal_registrations import ConflictKind, DealRegistration, RegistrationStatus, conflicts_shown_to
from domain.shared.base import utcnow

RegistrationStatusType: TypeAlias = RegistrationStatus
strawberry.enum(RegistrationStatusType, name="RegistrationStatus", description="Where a deal registration stands.")
describe_values(
    RegistrationStatusType,
    {
        "SUBMITTED": "Waiting for the channel manager's decision.",
        "APPROVED": "Approved: the partner's claim is protected until it expires.",
        "REJECTED": "Rejected, with a reason.",
        "WITHDRAWN": "Withdrawn by the partner; protection ended.",
        "EXPIRED": "Its protection ran out.",
    },
)
ConflictKindType: TypeAlias = ConflictKind
strawberry.enum(ConflictKindType, name="ConflictKind", description="What a registration clashes with.")
describe_values(
    ConflictKindType,
    {
        "OPPORTUNITY": "An existing opportunity for the same customer.",
        "REGISTRATION": "Another partner's registration for the same customer.",
        "ACCOUNT": "An existing account of the same customer.",
    },
)
CONFLICT_TYPE_NAMES = {"opportunity": "Opportunity", "registration": "DealRegistration", "account": "Account"}


@strawberry.type(description="A record about the same customer that a registration clashes with, and why.")
class RegistrationConflict:
    kind: ConflictKindType = strawberry.field(description="Opportunity, registration or account.")
    record_id: strawberry.ID = strawberry.field(description="Global ID of the clashing record.")
    name: str = strawberry.field(description="Its name.")
    status: str = strawberry.field(description="Its stage or status when the check ran.")
    reasons: list[str] = strawberry.field(description="Why it is taken for the same customer.")


@strawberry.type(name="DealRegistration", description="A partner's claim to a customer deal and the decision on it.")
class DealRegistrationType(Node):
    row: strawberry.Private[DealRegistration]

    @classmethod
    def from_row(cls, row: DealRegistration) -> DealRegistrationType:
        return cls(id=to_global_id("DealRegistration", row.id), row=row)

    @strawberry.field(description="Customer company as the partner named it.")
    def customer_name(self) -> str:
        return self.row.customer_name

    @strawberry.field(description="Customer tax id, validated and compacted.")
    def customer_tax_id(self) -> str | None:
        return self.row.customer_tax_id

    @strawberry.field(description="Customer web domain.")
    def customer_web_domain(self) -> str | None:
        return self.row.customer_web_domain

    @strawberry.field(description="Products in the deal.")
    def products(self) -> list[str]:
        return list(self.row.products)

    @strawberry.field(description="Expected deal value.")
    def amount(self) -> Money:
        return Money(amount=self.row.amount, currency=self.row.currency)

    @strawberry.field(description="Expected close date.")
    def expected_close_date(self) -> date:
        return self.row.expected_close_date

    @strawberry.field(description="The partner's notes.")
    def notes(self) -> str | None:
        return self.row.notes

    @strawberry.field(description="Status now: an approval whose protection has run out reads EXPIRED.")
    def status(self) -> RegistrationStatusType:
        return self.row.status_at(utcnow())

    @strawberry.field(description="When the protection window ends (approved registrations).")
    def protection_expires_at(self) -> datetime | None:
        return self.row.protection_expires_at

    @strawberry.field(description="The channel manager's reason, or why it was rejected as a conflict.")
    def decision_reason(self) -> str | None:
        return self.row.decision_reason

    @strawberry.field(description="When it was decided.")
    def decided_at(self) -> datetime | None:
        return self.row.decided_at

    @strawberry.field(description="Days of extra protection the partner asked for, awaiting a decision.")
    def extension_requested_days(self) -> int | None:
        return self.row.extension_requested_days

    @strawberry.field(description="When it was submitted.")
    def submitted_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="The registering partner organization.")
    async def partner(self, info: Info) -> OrganizationType | None:
        row = await load(info, "Organization", self.row.partner_organization_id)
        return OrganizationType.from_row(row) if row else None

    @strawberry.field(description="Who submitted it.")
    async def submitted_by(self, info: Info) -> UserType | None:
        row = await load(info, "User", self.row.submitted_by_id)
        return UserType.from_row(row) if row else None

    @strawberry.field(description="The account it was linked to on approval, when the viewer may see it.")
    async def account(self, info: Info) -> AccountType | None:
        row = await load(info, "Account", self.row.account_id)
        return AccountType.from_row(row) if row else None

    @strawberry.field(description="The opportunity approval created, when the viewer may see it.")
    async def opportunity(self, info: Info) -> OpportunityType | None:
        row = await load(info, "Opportunity", self.row.opportunity_id)
        return OpportunityType.from_row(row) if row else None

    @strawberry.field(
        description="What it clashes with and why. Channel managers only (it names other partners' business): "
        "for partners null, with a FORBIDDEN error on this field alone."
    )
    def conflicts(self, info: Info) -> list[RegistrationConflict] | None:
        shown = query_value(lambda: conflicts_shown_to(ctx(info).access, self.row))
        return [
            RegistrationConflict(
                kind=ConflictKind(c["kind"]),
                record_id=to_global_id(CONFLICT_TYPE_NAMES[c["kind"]], c["id"]),
                name=c["name"],
                status=c["status"],
                reasons=list(c["reasons"]),
            )
            for c in shown
        ]
