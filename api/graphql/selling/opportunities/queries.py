"""Queries over opportunities."""

from __future__ import annotations

import datetime
from decimal import Decimal
from enum import Enum

import strawberry
from strawberry.types import Info

from api.graphql.descriptions import describe_values, described_arguments
from api.graphql.errors import query_value
from api.graphql.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, OrderDirection, optional_id_of
from api.graphql.resolving import list_connection, read
from api.graphql.selling.opportunities.types import (
    OpportunityType,
    StageApprovalType,
    StageGateType,
    StageType,
    TeamStageRuleType,
)
from domain.selling import team_stage_rules
from domain.selling.opportunities import Opportunity, OpportunityFilter, opportunities_query
from domain.selling.stage_gates import StageApproval, gates, pending_approvals_query
from domain.shared.pagination import SortDirection


@strawberry.enum(description="What to sort opportunities by.")
class OpportunityOrderField(Enum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    NAME = "name"
    AMOUNT = "amount"
    CLOSE_DATE = "close_date"


describe_values(
    OpportunityOrderField,
    {
        "CREATED_AT": "When the deal was opened.",
        "UPDATED_AT": "When the deal last changed.",
        "NAME": "Deal name, A to Z.",
        "AMOUNT": "Expected value.",
        "CLOSE_DATE": "Expected close date.",
    },
)


@strawberry.input(description="Sort order for opportunities.")
class OpportunityOrder:
    field: OpportunityOrderField = strawberry.field(description="Sort key; ties are broken by id.")
    direction: OrderDirection = strawberry.field(default=SortDirection.DESC, description="ASC or DESC.")


@strawberry.input(description="Narrow the opportunity list; every field optional, all given fields must match.")
class OpportunityFilterInput:
    search: str | None = strawberry.field(
        default=None, description="Name contains this text (any case; at most 200 characters)."
    )
    stages: list[StageType] | None = strawberry.field(default=None, description="In one of these stages.")
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="Owned by this user.")
    account_id: strawberry.ID | None = strawberry.field(default=None, description="On this account.")
    partner_organization_id: strawberry.ID | None = strawberry.field(
        default=None, description="Linked to this partner organization."
    )
    amount_min: Decimal | None = strawberry.field(default=None, description="Amount at least this.")
    amount_max: Decimal | None = strawberry.field(default=None, description="Amount at most this.")
    close_date_from: datetime.date | None = strawberry.field(default=None, description="Closing on or after.")
    close_date_to: datetime.date | None = strawberry.field(default=None, description="Closing on or before.")
    pipeline_id: strawberry.ID | None = strawberry.field(default=None, description="Following this pipeline.")


def to_domain_filter(flt: OpportunityFilterInput) -> OpportunityFilter:
    return OpportunityFilter(
        search=flt.search,
        stages=list(flt.stages) if flt.stages else None,
        owner_id=optional_id_of(flt.owner_id, "User", "ownerId"),
        account_id=optional_id_of(flt.account_id, "Account", "accountId"),
        partner_organization_id=optional_id_of(flt.partner_organization_id, "Organization", "partnerOrganizationId"),
        amount_min=flt.amount_min,
        amount_max=flt.amount_max,
        close_date_from=flt.close_date_from,
        close_date_to=flt.close_date_to,
        pipeline_id=optional_id_of(flt.pipeline_id, "Pipeline", "pipelineId"),
    )


@strawberry.type
class OpportunityQueries:
    @strawberry.field(description="The team access table: which sales role may change what in which stage.")
    async def team_stage_rules(self, info: Info) -> list[TeamStageRuleType]:
        return [TeamStageRuleType.from_row(r) for r in await read(info, team_stage_rules.rules)]

    @strawberry.field(description="The tenant's stage gates: what entering each stage requires.")
    async def stage_gates(self, info: Info) -> list[StageGateType]:
        return [StageGateType.from_row(r) for r in await read(info, gates)]

    @strawberry.field(
        description="Stage approvals waiting on you: still requested, on deals whose approvals you may decide "
        "(decideStageApproval); the longest waiting first."
    )
    async def pending_stage_approvals(
        self, info: Info, first: FirstArg = None, after: AfterArg = None, last: LastArg = None, before: BeforeArg = None
    ) -> Connection[StageApprovalType]:
        return await list_connection(
            info,
            query=pending_approvals_query,
            sort_column=StageApproval.created_at,
            id_column=StageApproval.id,
            direction=SortDirection.ASC,
            first=first,
            after=after,
            last=last,
            before=before,
            to_node=StageApprovalType.from_row,
        )

    @described_arguments(
        filter="Narrow the list; every field optional.",
        order_by="Sort key and direction; newest first when left out.",
    )
    @strawberry.field(description="Opportunities the viewer may see; newest first unless orderBy says otherwise.")
    async def opportunities(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: OpportunityFilterInput | None = None,
        order_by: OpportunityOrder | None = None,
    ) -> Connection[OpportunityType]:
        flt = query_value(lambda: to_domain_filter(filter)) if filter else None
        order = order_by or OpportunityOrder(field=OpportunityOrderField.CREATED_AT)
        return await list_connection(
            info,
            query=lambda uow: opportunities_query(uow, flt),
            sort_column=getattr(Opportunity, order.field.value),
            id_column=Opportunity.id,
            direction=order.direction,
            first=first,
            after=after,
            last=last,
            before=before,
            to_node=OpportunityType.from_row,
        )
