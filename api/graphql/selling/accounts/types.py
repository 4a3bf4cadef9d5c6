"""GraphQL types for accounts and contacts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeAlias

import strawberry
from strawberry.types import Info

from api.graphql.channel.directory.types import OrganizationType, TerritoryType, UserType
from api.graphql.descriptions import describe_values
from api.graphql.record_versions import VERSION_DESCRIPTION
from api.graphql.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, Node, to_global_id
from api.graphql.resolving import child_connection, ctx, load
from domain.selling.accounts import Account, LifecycleStage
from domain.selling.activities import Activity, activities_query
from domain.selling.contacts import BuyingRole, Contact, contacts_query
from domain.selling.opportunities import Opportunity, OpportunityFilter, opportunities_query

if TYPE_CHECKING:
    from api.graphql.selling.activities.types import ActivityType
    from api.graphql.selling.opportunities.types import OpportunityType

LifecycleStageType: TypeAlias = LifecycleStage
strawberry.enum(LifecycleStageType, name="LifecycleStage", description="Where an account stands with us.")
describe_values(
    LifecycleStageType,
    {
        "PROSPECT": "Not yet bought from us.",
        "CUSTOMER": "Buys from us.",
        "FORMER_CUSTOMER": "Bought from us before.",
    },
)
BuyingRoleType: TypeAlias = BuyingRole
strawberry.enum(BuyingRoleType, name="BuyingRole", description="A contact's part in the buying centre.")
describe_values(
    BuyingRoleType,
    {
        "DECISION_MAKER": "Makes the buying decision.",
        "INFLUENCER": "Shapes the decision without making it.",
        "USER": "Will use what is bought.",
        "GATEKEEPER": "Controls access to the decision makers.",
        "CHAMPION": "Sells for us inside the customer.",
    },
)

OpportunityRef = Annotated["OpportunityType", strawberry.lazy("api.graphql.selling.opportunities.types")]
ActivityRef = Annotated["ActivityType", strawberry.lazy("api.graphql.selling.activities.types")]


@strawberry.type(name="Account", description="A customer company.")
class AccountType(Node):
    row: strawberry.Private[Account]

    @classmethod
    def from_row(cls, row: Account) -> AccountType:
        return cls(id=to_global_id("Account", row.id), row=row)

    @strawberry.field(description=VERSION_DESCRIPTION)
    def version(self) -> int:
        return self.row.row_version

    @strawberry.field(description="Company name as entered.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="The name folded for matching: case, width, punctuation and legal forms removed.")
    def normalized_name(self) -> str:
        return self.row.normalized_name

    @strawberry.field(description="Tax id (e.g. unified social credit code), upper-cased.")
    def tax_id(self) -> str | None:
        return self.row.tax_id

    @strawberry.field(description="Web domain, e.g. example.com.")
    def web_domain(self) -> str | None:
        return self.row.web_domain

    @strawberry.field(description="Industry.")
    def industry(self) -> str | None:
        return self.row.industry

    @strawberry.field(description="Account grade, e.g. A/B/C.")
    def grade(self) -> str | None:
        return self.row.grade

    @strawberry.field(description="Prospect, customer or former customer.")
    def lifecycle_stage(self) -> LifecycleStageType:
        return self.row.lifecycle_stage

    @strawberry.field(description="When the account was created (UTC).")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When the account last changed (UTC).")
    def updated_at(self) -> datetime:
        return self.row.updated_at

    @strawberry.field(description="The account's owner, when the viewer may see them.")
    async def owner(self, info: Info) -> UserType | None:
        row = await load(info, "User", self.row.owner_id)
        return UserType.from_row(row) if row else None

    @strawberry.field(description="The account's territory, when the viewer may see it.")
    async def territory(self, info: Info) -> TerritoryType | None:
        row = await load(info, "Territory", self.row.territory_id)
        return TerritoryType.from_row(row) if row else None

    @strawberry.field(description="The partner organization that manages this account, if any the viewer may see.")
    async def managing_partner(self, info: Info) -> OrganizationType | None:
        row = await load(info, "Organization", self.row.managing_partner_id)
        return OrganizationType.from_row(row) if row else None

    @strawberry.field(description="The account's contacts the viewer may see, newest first.")
    async def contacts(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[ContactType]:
        loaders = ctx(info).loaders
        return await child_connection(
            info,
            parent_id=self.row.id,
            first=first,
            after=after,
            last=last,
            before=before,
            page_loader=loaders.contacts_by_account,
            count_loader=loaders.count_contacts_by_account,
            query=lambda uow: contacts_query(uow, account_id=self.row.id),
            sort_column=Contact.created_at,
            id_column=Contact.id,
            to_node=ContactType.from_row,
        )

    @strawberry.field(description="The account's opportunities the viewer may see, newest first.")
    async def opportunities(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[OpportunityRef]:
        from api.graphql.selling.opportunities.types import OpportunityType  # its module imports this one

        loaders = ctx(info).loaders
        return await child_connection(
            info,
            parent_id=self.row.id,
            first=first,
            after=after,
            last=last,
            before=before,
            page_loader=loaders.opportunities_by_account,
            count_loader=loaders.count_opportunities_by_account,
            query=lambda uow: opportunities_query(uow, OpportunityFilter(account_id=self.row.id)),
            sort_column=Opportunity.created_at,
            id_column=Opportunity.id,
            to_node=OpportunityType.from_row,
        )

    @strawberry.field(description="The account's timeline: activities the viewer may see, most recent first.")
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
            page_loader=loaders.activities_by_account,
            count_loader=loaders.count_activities_by_account,
            query=lambda uow: activities_query(uow, account_id=self.row.id),
            sort_column=Activity.occurred_at,
            id_column=Activity.id,
            to_node=ActivityType.from_row,
        )


@strawberry.type(name="Contact", description="A person at an account.")
class ContactType(Node):
    row: strawberry.Private[Contact]

    @classmethod
    def from_row(cls, row: Contact) -> ContactType:
        return cls(id=to_global_id("Contact", row.id), row=row)

    @strawberry.field(description=VERSION_DESCRIPTION)
    def version(self) -> int:
        return self.row.row_version

    @strawberry.field(description="Given name.")
    def first_name(self) -> str:
        return self.row.first_name

    @strawberry.field(description="Family name.")
    def last_name(self) -> str:
        return self.row.last_name

    @strawberry.field(description="E-mail address, lower-cased.")
    def email(self) -> str | None:
        return self.row.email

    @strawberry.field(description="Phone number as entered.")
    def phone(self) -> str | None:
        return self.row.phone

    @strawberry.field(description="Job title.")
    def title(self) -> str | None:
        return self.row.title

    @strawberry.field(description="Decision maker, influencer, user, gatekeeper or champion.")
    def buying_role(self) -> BuyingRoleType | None:
        return self.row.buying_role

    @strawberry.field(description="The contact's account.")
    async def account(self, info: Info) -> AccountType | None:
        row = await load(info, "Account", self.row.account_id)
        return AccountType.from_row(row) if row else None
