"""Queries over deal registrations, and the conflict pre-check."""

from __future__ import annotations

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from api.deal_registrations.types import DealRegistrationType, RegistrationStatusType
from api.graphql.errors import run_query
from api.graphql.relay import Connection
from api.graphql.resolving import ctx, list_connection
from domain.access import Resource
from domain.deal_registrations import DealRegistration, precheck
from domain.pagination import SortDirection


@strawberry.type(description="The answer of a conflict pre-check: only whether there is one.")
class RegistrationPrecheck:
    conflict: bool = strawberry.field(
        description="Whether the customer is already registered or in active business (never whose)."
    )


@strawberry.type
class DealRegistrationQueries:
    @strawberry.field(description="Deal registrations the viewer may see, newest first.")
    async def deal_registrations(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        status: RegistrationStatusType | None = None,  # type: ignore[valid-type]
    ) -> Connection[DealRegistrationType]:
        stmt = select(DealRegistration).where(ctx(info).access.rows(Resource.DEAL_REGISTRATION))
        if status is not None:
            stmt = stmt.where(DealRegistration.status == status)
        return await list_connection(
            info, query=stmt, sort_column=DealRegistration.created_at, id_column=DealRegistration.id,
            direction=SortDirection.DESC, first=first, after=after, to_node=DealRegistrationType.from_row,
        )  # fmt: skip

    @strawberry.field(description="Before registering: would this customer meet a conflict? Says only yes or no.")
    async def registration_precheck(
        self,
        info: Info,
        customer_name: str,
        customer_tax_id: str | None = None,
        customer_web_domain: str | None = None,
    ) -> RegistrationPrecheck:
        async def check() -> bool:
            async with ctx(info).sessions() as session:
                return await precheck(session, ctx(info).access, customer_name, customer_tax_id, customer_web_domain)

        return RegistrationPrecheck(conflict=await run_query(check))
