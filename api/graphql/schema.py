"""The GraphQL schema: every concept's queries and mutations, merged, plus Relay's `node`."""

from __future__ import annotations

import os

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import Info

from api.access.queries import AccessQueries
from api.accounts.mutations import AccountMutations
from api.accounts.queries import AccountQueries
from api.accounts.types import AccountType, ContactType
from api.activities.mutations import ActivityMutations, ActivityQueries
from api.activities.types import ActivityType
from api.analytics.queries import AnalyticsQueries, QuotaMutations, QuotaQueries
from api.audit.queries import AuditQueries
from api.auth.graphql import SignInMutations, SignInQueries
from api.auth.sso_graphql import SsoMutations, SsoQueries
from api.commerce.mutations import CommerceMutations
from api.commerce.queries import CommerceQueries
from api.commerce.types import ContractType, OrderType, ProductType, QuoteType
from api.deal_registrations.mutations import DealRegistrationMutations
from api.deal_registrations.queries import DealRegistrationQueries
from api.deal_registrations.types import DealRegistrationType
from api.directory.mutations import DirectoryMutations
from api.directory.queries import DirectoryQueries
from api.directory.types import OrganizationType, TerritoryType, UserType
from api.graphql.context import NODE_MODELS
from api.graphql.limits import extensions
from api.graphql.relay import Node, parse_global_id
from api.graphql.resolving import load
from api.leads.graphql import LeadMutations, LeadQueries
from api.leads.types import LeadType
from api.opportunities.mutations import OpportunityMutations
from api.opportunities.queries import OpportunityQueries
from api.opportunities.types import OpportunityType
from api.pipelines.graphql import PipelineMutations, PipelineQueries

NODE_TYPES: dict[str, type] = {
    "Account": AccountType,
    "Contact": ContactType,
    "Opportunity": OpportunityType,
    "Activity": ActivityType,
    "Organization": OrganizationType,
    "User": UserType,
    "Territory": TerritoryType,
    "DealRegistration": DealRegistrationType,
    "Lead": LeadType,
    "Product": ProductType,
    "Quote": QuoteType,
    "Order": OrderType,
    "Contract": ContractType,
}
assert NODE_TYPES.keys() == NODE_MODELS.keys()


@strawberry.type
class NodeQueries:
    @strawberry.field(description="Any record by global ID; null when it does not exist or the viewer may not see it.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        parsed = parse_global_id(id)
        if parsed is None or parsed[0] not in NODE_TYPES:
            return None
        type_name, record_id = parsed
        row = await load(info, type_name, record_id)
        return NODE_TYPES[type_name].from_row(row) if row else None  # type: ignore[attr-defined, no-any-return]

    @strawberry.field(description="Several records by global ID, in order; null for each one not found or not visible.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        return [await NodeQueries.node(self, info, i) for i in ids[:100]]  # type: ignore[call-arg]


Query = merge_types(
    "Query",
    (
        NodeQueries,
        DirectoryQueries,
        AccountQueries,
        OpportunityQueries,
        DealRegistrationQueries,
        LeadQueries,
        AuditQueries,
        AccessQueries,
        ActivityQueries,
        AnalyticsQueries,
        QuotaQueries,
        PipelineQueries,
        CommerceQueries,
        SignInQueries,
        SsoQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AccountMutations,
        OpportunityMutations,
        ActivityMutations,
        DirectoryMutations,
        DealRegistrationMutations,
        LeadMutations,
        QuotaMutations,
        PipelineMutations,
        CommerceMutations,
        SignInMutations,
        SsoMutations,
    ),
)


def build_schema(*, production: bool) -> strawberry.Schema:
    """The schema; production hides field suggestions that would reveal its shape to probing clients."""
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=list(NODE_TYPES.values()),
        extensions=extensions(),
        config=StrawberryConfig(disable_field_suggestions=production),
    )


schema = build_schema(production=os.environ.get("CRM_ENV") == "production")
