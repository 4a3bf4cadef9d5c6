"""The GraphQL schema: every concept's queries and mutations, merged, plus Relay's `node`."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, Info

from api.graphql.access.queries import AccessQueries
from api.graphql.audit.queries import AuditQueries
from api.graphql.budgets import RateLimitQueries
from api.graphql.channel.deal_registrations.mutations import DealRegistrationMutations
from api.graphql.channel.deal_registrations.queries import DealRegistrationQueries
from api.graphql.channel.deal_registrations.types import DealRegistrationType
from api.graphql.channel.directory.mutations import DirectoryMutations
from api.graphql.channel.directory.queries import DirectoryQueries
from api.graphql.channel.directory.types import OrganizationType, TerritoryType, UserType
from api.graphql.channel.leads.mutations import LeadMutations
from api.graphql.channel.leads.queries import LeadQueries
from api.graphql.channel.leads.types import LeadType, RoutingRuleType, WebFormType
from api.graphql.commerce.credit import CreditQueries
from api.graphql.commerce.mutations import CommerceMutations
from api.graphql.commerce.queries import CommerceQueries
from api.graphql.commerce.receivables import ReceivablesQueries
from api.graphql.commerce.types import ContractType, OrderType, OutboxMessageType, PriceListType, ProductType, QuoteType
from api.graphql.compiled.execution import compiled_or_resolved
from api.graphql.context import DEPENDENT_NODE_MODELS, NODE_MODELS
from api.graphql.descriptions import describe_inputs_by_their_type, described_arguments
from api.graphql.identity.sign_in import SessionType, SignInMutations, SignInQueries
from api.graphql.identity.sso import SsoMutations, SsoQueries
from api.graphql.limits import extensions, log_errors
from api.graphql.preferences.saved_views import SavedViewMutations, SavedViewQueries, SavedViewType
from api.graphql.relay import Node, parse_global_id
from api.graphql.resolving import load
from api.graphql.selling.accounts.mutations import AccountMutations
from api.graphql.selling.accounts.queries import AccountQueries
from api.graphql.selling.accounts.types import AccountType, ContactType
from api.graphql.selling.activities.mutations import ActivityMutations, ActivityQueries
from api.graphql.selling.activities.types import ActivityType
from api.graphql.selling.analytics.queries import AnalyticsQueries, QuotaMutations, QuotaQueries
from api.graphql.selling.opportunities.mutations import OpportunityMutations
from api.graphql.selling.opportunities.queries import OpportunityQueries
from api.graphql.selling.opportunities.types import OpportunityType, StageApprovalType
from api.graphql.selling.pipelines.graphql import PipelineMutations, PipelineQueries, PipelineType

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
    "Pipeline": PipelineType,
    "PriceList": PriceListType,
    "RoutingRule": RoutingRuleType,
    "WebForm": WebFormType,
    "StageApproval": StageApprovalType,
    "OutboxMessage": OutboxMessageType,
    "SavedView": SavedViewType,
    "Session": SessionType,
}
assert NODE_TYPES.keys() == NODE_MODELS.keys() | DEPENDENT_NODE_MODELS.keys()


@strawberry.type
class NodeQueries:
    @described_arguments(id="The record's global ID, as any type's `id` field gives it.")
    @strawberry.field(description="Any record by global ID; null when it does not exist or the viewer may not see it.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        parsed = parse_global_id(id)
        if parsed is None or parsed[0] not in NODE_TYPES:
            return None
        type_name, record_id = parsed
        row = await load(info, type_name, record_id)
        return NODE_TYPES[type_name].from_row(row) if row else None  # type: ignore[attr-defined]

    @described_arguments(ids="Global IDs, at most 100; any beyond the hundredth are ignored.")
    @strawberry.field(description="Several records by global ID, in order; null for each one not found or not visible.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        return [await NodeQueries.node(self, info, i) for i in ids[:100]]


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
        CreditQueries,
        ReceivablesQueries,
        SavedViewQueries,
        SignInQueries,
        SsoQueries,
        RateLimitQueries,
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
        SavedViewMutations,
        SignInMutations,
        SsoMutations,
    ),
)
describe_inputs_by_their_type(Mutation)


class CrmSchema(strawberry.Schema):
    """Strawberry's schema, logging a request's expected errors in one line instead of one traceback each, and
    answering the reads the compiler covers from one SQL statement each (api/graphql/compiled)."""

    def _get_execute_function(self) -> Callable[..., Any]:
        """graphql-core's execute, answering the reads the compiler covers from one SQL statement instead."""
        return compiled_or_resolved(self, super()._get_execute_function())

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        request_id = getattr(getattr(execution_context, "context", None), "request_id", None)
        unexpected = log_errors(errors, request_id)
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(*, production: bool) -> strawberry.Schema:
    """The schema; production hides every "Did you mean" suggestion, which would name what is not published.

    Introspection stays open to every signed-in caller in production too: it tells no more than the
    published `schema.graphql`, and the endpoint answers nobody without a token.
    """
    return CrmSchema(
        query=Query,
        mutation=Mutation,
        types=list(NODE_TYPES.values()),
        # Strawberry deprecates extension instances and types them out, but a factory would make the limiters'
        # validation rules anew for each request, and ValidationCache (keyed by the rules) would never hit.
        extensions=extensions(production=production),  # type: ignore[arg-type]
        config=StrawberryConfig(disable_field_suggestions=production),
    )


schema = build_schema(production=os.environ.get("CRM_ENV") == "production")
