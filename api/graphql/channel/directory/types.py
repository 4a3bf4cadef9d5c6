"""GraphQL types for the organization chart: organizations, users and territories."""

from __future__ import annotations

from typing import Annotated, TypeAlias

import strawberry
from strawberry.types import Info

from api.graphql.descriptions import describe_values
from api.graphql.record_versions import VERSION_DESCRIPTION
from api.graphql.relay import Node, to_global_id
from api.graphql.resolving import ctx, load
from domain.channel.organizations import Organization, OrganizationKind, OrganizationStatus, PartnerTier
from domain.identity.users import User
from domain.selling.territories import Territory

OrganizationKindType: TypeAlias = OrganizationKind
strawberry.enum(OrganizationKindType, name="OrganizationKind", description="What an organization is in the channel.")
describe_values(
    OrganizationKindType,
    {
        "ENTERPRISE": "The enterprise itself.",
        "DISTRIBUTOR": "A distributor, managing dealers and resellers.",
        "DEALER": "A dealer, selling to end customers.",
        "RESELLER": "A reseller, selling to end customers.",
        "AGENT": "An agent, bringing in business for a commission.",
    },
)
PartnerTierType: TypeAlias = PartnerTier
strawberry.enum(PartnerTierType, name="PartnerTier", description="A partner's programme tier.")
describe_values(
    PartnerTierType,
    {
        "PLATINUM": "The highest tier.",
        "GOLD": "The second tier.",
        "SILVER": "The third tier.",
        "REGISTERED": "In the programme, without a tier yet.",
    },
)
OrganizationStatusType: TypeAlias = OrganizationStatus
strawberry.enum(
    OrganizationStatusType, name="OrganizationStatus", description="Where a partner stands in the programme."
)
describe_values(
    OrganizationStatusType,
    {
        "PROSPECT": "Being onboarded; its users may already work.",
        "ACTIVE": "In the programme; its users work normally.",
        "SUSPENDED": "Paused: its users cannot sign in.",
        "TERMINATED": "Left the programme: its users cannot sign in.",
    },
)


@strawberry.type(name="Organization", description="The enterprise or one of its channel partners.")
class OrganizationType(Node):
    row: strawberry.Private[Organization]

    @classmethod
    def from_row(cls, row: Organization) -> OrganizationType:
        return cls(id=to_global_id("Organization", row.id), row=row)

    @strawberry.field(description=VERSION_DESCRIPTION)
    def version(self) -> int:
        return self.row.row_version

    @strawberry.field(description="Display name.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="Enterprise, distributor, dealer, reseller or agent.")
    def kind(self) -> OrganizationKindType:
        return self.row.kind

    @strawberry.field(description="Partner tier; null for the enterprise.")
    def tier(self) -> PartnerTierType | None:
        return self.row.tier

    @strawberry.field(description="Programme status; a suspended or terminated partner's users cannot sign in.")
    def status(self) -> OrganizationStatusType:
        return self.row.status

    @strawberry.field(description="Whether this is a channel partner rather than the enterprise.")
    def is_partner(self) -> bool:
        return self.row.is_partner

    @strawberry.field(description="Product lines and industries the partner is qualified for.")
    def specializations(self) -> list[str]:
        return list(self.row.specializations or [])

    @strawberry.field(description="Territories the partner serves, those the viewer may see.")
    async def regions(self, info: Info) -> list[TerritoryType]:
        rows = await ctx(info).loaders.by_type["Territory"].load_many(list(self.row.region_ids or []))
        return [TerritoryType.from_row(r) for r in rows if r is not None]

    @strawberry.field(description="The internal user who owns the relationship, when the viewer may see them.")
    async def channel_manager(
        self, info: Info
    ) -> Annotated[UserType, strawberry.lazy("api.graphql.channel.directory.types")] | None:
        row = await load(info, "User", self.row.channel_manager_id)
        return UserType.from_row(row) if row else None

    @strawberry.field(description="The organization above this one, when the viewer may see it.")
    async def parent(self, info: Info) -> OrganizationType | None:
        row = await load(info, "Organization", self.row.parent_id)
        return OrganizationType.from_row(row) if row else None

    @strawberry.field(description="Organizations directly below this one that the viewer may see, by name.")
    async def children(self, info: Info) -> list[OrganizationType]:
        rows = await ctx(info).loaders.children_by_organization.load(self.row.id)
        return [OrganizationType.from_row(r) for r in rows]


@strawberry.type(name="Territory", description="A sales territory (region or segment) in a tree.")
class TerritoryType(Node):
    row: strawberry.Private[Territory]

    @classmethod
    def from_row(cls, row: Territory) -> TerritoryType:
        return cls(id=to_global_id("Territory", row.id), row=row)

    @strawberry.field(description="Display name.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="The territory this one belongs to.")
    async def parent(self, info: Info) -> TerritoryType | None:
        row = await load(info, "Territory", self.row.parent_id)
        return TerritoryType.from_row(row) if row else None


@strawberry.type(name="User", description="A person who signs in: internal staff or a partner's user.")
class UserType(Node):
    row: strawberry.Private[User]

    @classmethod
    def from_row(cls, row: User) -> UserType:
        return cls(id=to_global_id("User", row.id), row=row)

    @strawberry.field(description="Full name.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="Sign-in e-mail address, unique within the tenant.")
    def email(self) -> str:
        return self.row.email

    @strawberry.field(description="Roles held in this tenant, e.g. account_manager or partner_admin.")
    def roles(self) -> list[str]:
        return sorted(self.row.roles)

    @strawberry.field(description="Whether the user may sign in.")
    def is_active(self) -> bool:
        return self.row.is_active

    @strawberry.field(description="The user's home organization.")
    async def organization(self, info: Info) -> OrganizationType | None:
        row = await load(info, "Organization", self.row.organization_id)
        return OrganizationType.from_row(row) if row else None

    @strawberry.field(description="The user's manager, when the viewer may see them.")
    async def manager(
        self, info: Info
    ) -> Annotated[UserType, strawberry.lazy("api.graphql.channel.directory.types")] | None:
        row = await load(info, "User", self.row.manager_id)
        return UserType.from_row(row) if row else None

    @strawberry.field(description="The user's territory, when they have one and the viewer may see it.")
    async def territory(self, info: Info) -> TerritoryType | None:
        row = await load(info, "Territory", self.row.territory_id)
        return TerritoryType.from_row(row) if row else None
