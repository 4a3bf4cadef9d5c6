"""Queries over deal registrations, and the conflict pre-check."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.graphql.channel.deal_registrations.types import DealRegistrationType, RegistrationStatusType
from api.graphql.descriptions import described_arguments
from api.graphql.errors import query_value
from api.graphql.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, optional_id_of
from api.graphql.resolving import list_connection, read
from domain.channel.deal_registrations import DealRegistration, precheck, visible_registrations
from domain.shared.pagination import SortDirection


@strawberry.type(description="The answer of a conflict pre-check: only whether there is one.")
class RegistrationPrecheck:
    conflict: bool = strawberry.field(
        description="Whether the customer is already registered or in active business (never whose)."
    )


@strawberry.type
class DealRegistrationQueries:
    @described_arguments(status="Only registrations in this status.")
    @strawberry.field(description="Deal registrations the viewer may see, newest first.")
    async def deal_registrations(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        status: RegistrationStatusType | None = None,
        partner_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only those of this partner (a distributor narrowing to one dealer)."),
        ] = None,
        protection_expires_before: Annotated[
            datetime | None,
            strawberry.argument(description="Only those whose protection ends before this time (about to expire)."),
        ] = None,
    ) -> Connection[DealRegistrationType]:
        partner = query_value(lambda: optional_id_of(partner_id, "Organization", "partnerId"))
        return await list_connection(
            info,
            query=lambda uow: visible_registrations(
                uow, status=status, partner_id=partner, protection_expires_before=protection_expires_before
            ),
            sort_column=DealRegistration.created_at,
            id_column=DealRegistration.id,
            direction=SortDirection.DESC,
            first=first,
            after=after,
            last=last,
            before=before,
            to_node=DealRegistrationType.from_row,
        )

    @described_arguments(
        customer_name="The customer's company name, as it would be registered.",
        customer_tax_id="The customer's tax id, when known (checked by its scheme).",
        customer_web_domain="The customer's web domain, when known.",
    )
    @strawberry.field(description="Before registering: would this customer meet a conflict? Says only yes or no.")
    async def registration_precheck(
        self,
        info: Info,
        customer_name: str,
        customer_tax_id: str | None = None,
        customer_web_domain: str | None = None,
    ) -> RegistrationPrecheck:
        conflict = await read(info, lambda uow: precheck(uow, customer_name, customer_tax_id, customer_web_domain))
        return RegistrationPrecheck(conflict=conflict)
