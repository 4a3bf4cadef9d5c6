"""Queries over leads."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from api.graphql.channel.leads.types import LeadStatusType, LeadType
from api.graphql.descriptions import described_arguments
from api.graphql.errors import query_value
from api.graphql.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, optional_id_of
from api.graphql.resolving import list_connection
from domain.channel import leads
from domain.channel.leads import Lead
from domain.shared.pagination import SortDirection


@strawberry.type
class LeadQueries:
    @described_arguments(status="Only leads in this status.")
    @strawberry.field(description="Leads the viewer may see, newest first.")
    async def leads(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        status: LeadStatusType | None = None,
        partner_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only leads with this partner (a distributor narrowing to one dealer)."),
        ] = None,
    ) -> Connection[LeadType]:
        partner = query_value(lambda: optional_id_of(partner_id, "Organization", "partnerId"))
        return await list_connection(
            info,
            query=lambda uow: leads.visible_leads(uow, status=status, partner_id=partner),
            sort_column=Lead.created_at,
            id_column=Lead.id,
            direction=SortDirection.DESC,
            first=first,
            after=after,
            last=last,
            before=before,
            to_node=LeadType.from_row,
        )
