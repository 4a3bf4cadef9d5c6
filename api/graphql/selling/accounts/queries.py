"""Queries over accounts and contacts."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from api.graphql.descriptions import describe_values, described_arguments
from api.graphql.errors import query_value
from api.graphql.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, OrderDirection, optional_id_of
from api.graphql.resolving import list_connection
from api.graphql.selling.accounts.types import AccountType, ContactType, LifecycleStageType
from domain.selling.accounts import Account, AccountFilter, accounts_query
from domain.selling.contacts import Contact, contacts_query
from domain.shared.pagination import SortDirection


@strawberry.enum(description="What to sort accounts by.")
class AccountOrderField(Enum):
    NAME = "name"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


describe_values(
    AccountOrderField,
    {
        "NAME": "Account name, A to Z.",
        "CREATED_AT": "When the account was created.",
        "UPDATED_AT": "When the account last changed.",
    },
)


@strawberry.input(description="Sort order for accounts.")
class AccountOrder:
    field: AccountOrderField = strawberry.field(description="Sort key; ties are broken by id.")
    direction: OrderDirection = strawberry.field(default=SortDirection.ASC, description="ASC or DESC.")


@strawberry.input(description="Narrow the account list; every field optional.")
class AccountFilterInput:
    search: str | None = strawberry.field(
        default=None, description="Normalized name contains this text (at most 200 characters)."
    )
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="Owned by this user.")
    territory_id: strawberry.ID | None = strawberry.field(default=None, description="In this territory.")
    managing_partner_id: strawberry.ID | None = strawberry.field(default=None, description="Managed by this partner.")
    lifecycle_stage: LifecycleStageType | None = strawberry.field(default=None, description="In this stage.")


@strawberry.type
class AccountQueries:
    @described_arguments(
        filter="Narrow the list; every field optional.",
        order_by="Sort key and direction; by name, A to Z, when left out.",
    )
    @strawberry.field(description="Accounts the viewer may see.")
    async def accounts(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: AccountFilterInput | None = None,
        order_by: AccountOrder | None = None,
    ) -> Connection[AccountType]:
        flt = None
        if filter:
            flt = query_value(
                lambda: AccountFilter(
                    search=filter.search,
                    owner_id=optional_id_of(filter.owner_id, "User", "ownerId"),
                    territory_id=optional_id_of(filter.territory_id, "Territory", "territoryId"),
                    managing_partner_id=optional_id_of(filter.managing_partner_id, "Organization", "managingPartnerId"),
                    lifecycle_stage=filter.lifecycle_stage,
                )
            )
        order = order_by or AccountOrder(field=AccountOrderField.NAME)
        return await list_connection(
            info,
            query=lambda uow: accounts_query(uow, flt),
            sort_column=getattr(Account, order.field.value),
            id_column=Account.id,
            direction=order.direction,
            first=first,
            after=after,
            last=last,
            before=before,
            to_node=AccountType.from_row,
        )

    @described_arguments(
        account_id="Only this account's contacts.",
        search="Only contacts whose name or e-mail contains this text.",
    )
    @strawberry.field(description="Contacts the viewer may see, newest first.")
    async def contacts(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        account_id: strawberry.ID | None = None,
        search: str | None = None,
    ) -> Connection[ContactType]:
        account = query_value(lambda: optional_id_of(account_id, "Account", "accountId"))
        return await list_connection(
            info,
            query=lambda uow: contacts_query(uow, account_id=account, search=search),
            sort_column=Contact.created_at,
            id_column=Contact.id,
            direction=SortDirection.DESC,
            first=first,
            after=after,
            last=last,
            before=before,
            to_node=ContactType.from_row,
        )
