"""Queries over the organization chart: me, organizations, users, territories."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.channel.directory.types import OrganizationType, TerritoryType, UserType
from api.graphql.channel.partner_kinds import PartnerKindType, organization_kind
from api.graphql.descriptions import described_arguments
from api.graphql.errors import query_value
from api.graphql.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, OrderDirection, optional_id_of
from api.graphql.resolving import ctx, list_connection, load
from domain.channel.directory import visible_organizations, visible_territories, visible_users
from domain.channel.organizations import Organization
from domain.identity.users import User
from domain.selling.territories import Territory
from domain.shared.pagination import SortDirection


@strawberry.input(description="Narrow the organization list.")
class OrganizationFilter:
    kind: PartnerKindType | None = strawberry.field(default=None, description="Only this kind.")
    search: str | None = strawberry.field(
        default=None, description="Name contains this text (any case; at most 200 characters)."
    )


@strawberry.input(description="Narrow the user list.")
class UserFilter:
    search: str | None = strawberry.field(
        default=None, description="Name or e-mail contains this text (any case; at most 200 characters)."
    )
    organization_id: strawberry.ID | None = strawberry.field(default=None, description="Home organization.")
    role: str | None = strawberry.field(default=None, description="Holds this role.")


@strawberry.type
class DirectoryQueries:
    @strawberry.field(description="The signed-in user; null for a machine client.")
    async def me(self, info: Info) -> UserType | None:
        row = await load(info, "User", ctx(info).actor.user_id)
        return UserType.from_row(row) if row else None

    @described_arguments(
        filter="Narrow by kind or name; every field optional.",
        direction="By name, ASC (A to Z) or DESC.",
    )
    @strawberry.field(description="Organizations the viewer may see, by name.")
    async def organizations(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: OrganizationFilter | None = None,
        direction: OrderDirection = SortDirection.ASC,
    ) -> Connection[OrganizationType]:
        kind = organization_kind(filter.kind) if filter else None
        search = filter.search if filter else None
        return await list_connection(
            info,
            query=lambda uow: visible_organizations(uow, kind=kind, search=search),
            sort_column=Organization.name,
            id_column=Organization.id,
            direction=direction,
            first=first,
            after=after,
            last=last,
            before=before,
            to_node=OrganizationType.from_row,
        )

    @described_arguments(
        filter="Narrow by name or e-mail, organization or role; every field optional.",
        direction="By name, ASC (A to Z) or DESC.",
    )
    @strawberry.field(description="Users the viewer may see, by name.")
    async def users(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: UserFilter | None = None,
        direction: OrderDirection = SortDirection.ASC,
    ) -> Connection[UserType]:
        organization_id = None
        if filter and filter.organization_id:
            org = filter.organization_id
            organization_id = query_value(lambda: optional_id_of(org, "Organization", "organizationId"))
        search, role = (filter.search, filter.role) if filter else (None, None)
        return await list_connection(
            info,
            query=lambda uow: visible_users(uow, search=search, organization_id=organization_id, role=role),
            sort_column=User.name,
            id_column=User.id,
            direction=direction,
            first=first,
            after=after,
            last=last,
            before=before,
            to_node=UserType.from_row,
        )

    @strawberry.field(description="Territories the viewer may see, by name; 50 a page by default.")
    async def territories(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[TerritoryType]:
        return await list_connection(
            info,
            query=visible_territories,
            sort_column=Territory.name,
            id_column=Territory.id,
            direction=SortDirection.ASC,
            first=first,
            after=after,
            last=last,
            before=before,
            default_size=50,
            to_node=TerritoryType.from_row,
        )
