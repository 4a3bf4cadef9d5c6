"""The per-request GraphQL context: the actor, its access, and DataLoaders that batch every nested read.

Each loader batch opens its own short-lived session, because sibling fields resolve concurrently
and one asyncpg connection refuses concurrent statements.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute, aliased
from starlette.requests import Request
from strawberry.dataloader import DataLoader

from domain.access.actor import Actor, Resource
from domain.access.dependent_visibility import load_visible_dependents
from domain.access.visibility import load_visible
from domain.channel.deal_registrations import DealRegistration
from domain.channel.lead_routing import RoutingRule
from domain.channel.leads import Lead
from domain.channel.organizations import Organization
from domain.channel.web_forms import WebForm
from domain.commerce.catalog import PriceList, Pricing, Product, pricing_for
from domain.commerce.contracts import Contract, ContractLine
from domain.commerce.orders import Order, OrderLine
from domain.commerce.quotes import Quote, QuoteLine
from domain.commerce.receivables import Installment, Payment
from domain.erp.outbox import OutboxMessage
from domain.identity.sign_in.models import AuthSession
from domain.identity.users import User
from domain.preferences.saved_views import SavedView
from domain.selling.accounts import Account, Contact
from domain.selling.activities import Activity
from domain.selling.buying_centre import OpportunityCompetitor, OpportunityContact
from domain.selling.opportunities import Opportunity, OpportunityPartner, OpportunityTeamMember
from domain.selling.pipelines import Pipeline
from domain.selling.stage_gates import StageApproval
from domain.selling.territories import Territory
from permissions.engine import PolicyAccess

NODE_MODELS: dict[str, tuple[type, Resource]] = {
    "Account": (Account, Resource.ACCOUNT),
    "Contact": (Contact, Resource.CONTACT),
    "Opportunity": (Opportunity, Resource.OPPORTUNITY),
    "Activity": (Activity, Resource.ACTIVITY),
    "Organization": (Organization, Resource.ORGANIZATION),
    "User": (User, Resource.USER),
    "Territory": (Territory, Resource.TERRITORY),
    "DealRegistration": (DealRegistration, Resource.DEAL_REGISTRATION),
    "Lead": (Lead, Resource.LEAD),
    "Product": (Product, Resource.PRODUCT),
    "Quote": (Quote, Resource.QUOTE),
    "Order": (Order, Resource.ORDER),
    "Contract": (Contract, Resource.CONTRACT),
}
# Node types without a resource of their own, each read by the rule of what it belongs to.
DEPENDENT_NODE_MODELS: dict[str, type] = {
    "Pipeline": Pipeline,
    "PriceList": PriceList,
    "RoutingRule": RoutingRule,
    "WebForm": WebForm,
    "StageApproval": StageApproval,
    "OutboxMessage": OutboxMessage,
    "SavedView": SavedView,
    "Session": AuthSession,
}


@dataclass(frozen=True)
class ChildPageKey:
    """A nested connection's first page: which parent and how many rows."""

    parent_id: uuid.UUID
    first: int


@dataclass
class ChildPage:
    rows: list[Any]
    has_next_page: bool


class Loaders:
    """Every DataLoader of one request; all reads carry the actor's visibility predicates."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], access: PolicyAccess) -> None:
        self.sessions = sessions
        self.access = access
        self._pricing: Pricing | None = None
        self.by_type: dict[str, DataLoader[uuid.UUID, Any]] = {
            name: DataLoader(self._visible_by_id(model, resource)) for name, (model, resource) in NODE_MODELS.items()
        } | {name: DataLoader(self._dependent_by_id(model)) for name, model in DEPENDENT_NODE_MODELS.items()}
        tenant = access.actor.tenant_id
        self.team_by_opportunity = DataLoader(
            self._all_by_parent(
                OpportunityTeamMember,
                OpportunityTeamMember.opportunity_id,
                OpportunityTeamMember.tenant_id == tenant,
                OpportunityTeamMember.created_at,
            )
        )
        # Lines and receivables of a record the resolver has already shown to be visible.
        self.quote_lines = DataLoader(
            self._all_by_parent(QuoteLine, QuoteLine.quote_id, QuoteLine.tenant_id == tenant, QuoteLine.position)
        )
        self.order_lines = DataLoader(
            self._all_by_parent(OrderLine, OrderLine.order_id, OrderLine.tenant_id == tenant, OrderLine.position)
        )
        self.contract_lines = DataLoader(
            self._all_by_parent(
                ContractLine, ContractLine.contract_id, ContractLine.tenant_id == tenant, ContractLine.position
            )
        )
        self.installments = DataLoader(
            self._all_by_parent(
                Installment, Installment.record_id, Installment.tenant_id == tenant, Installment.sequence
            )
        )
        self.payments = DataLoader(
            self._all_by_parent(Payment, Payment.record_id, Payment.tenant_id == tenant, Payment.received_at)
        )
        self.partners_by_opportunity = DataLoader(
            self._all_by_parent(
                OpportunityPartner,
                OpportunityPartner.opportunity_id,
                OpportunityPartner.tenant_id == tenant,
                OpportunityPartner.created_at,
            )
        )
        self.buying_centre_by_opportunity = DataLoader(
            self._all_by_parent(
                OpportunityContact, OpportunityContact.opportunity_id, OpportunityContact.tenant_id == tenant,
                OpportunityContact.created_at,
            )
        )  # fmt: skip
        self.competitors_by_opportunity = DataLoader(
            self._all_by_parent(
                OpportunityCompetitor, OpportunityCompetitor.opportunity_id, OpportunityCompetitor.tenant_id == tenant,
                OpportunityCompetitor.name,
            )
        )  # fmt: skip
        self.pipelines = DataLoader(self._pipelines)
        self.children_by_organization = DataLoader(
            self._all_by_parent(
                Organization, Organization.parent_id, access.rows(Resource.ORGANIZATION), Organization.name
            )
        )
        self.activities_by_opportunity = DataLoader(
            self._first_by_parent(Activity, Activity.opportunity_id, Resource.ACTIVITY, Activity.occurred_at)
        )
        self.activities_by_account = DataLoader(
            self._first_by_parent(Activity, Activity.account_id, Resource.ACTIVITY, Activity.occurred_at)
        )
        self.contacts_by_account = DataLoader(
            self._first_by_parent(Contact, Contact.account_id, Resource.CONTACT, Contact.created_at)
        )
        self.opportunities_by_account = DataLoader(
            self._first_by_parent(Opportunity, Opportunity.account_id, Resource.OPPORTUNITY, Opportunity.created_at)
        )
        self.count_activities_by_opportunity = DataLoader(
            self._count_by_parent(Activity, Activity.opportunity_id, Resource.ACTIVITY)
        )
        self.count_activities_by_account = DataLoader(
            self._count_by_parent(Activity, Activity.account_id, Resource.ACTIVITY)
        )
        self.count_contacts_by_account = DataLoader(
            self._count_by_parent(Contact, Contact.account_id, Resource.CONTACT)
        )
        self.count_opportunities_by_account = DataLoader(
            self._count_by_parent(Opportunity, Opportunity.account_id, Resource.OPPORTUNITY)
        )

    async def _pipelines(self, ids: list[uuid.UUID]) -> list[Any]:
        """Pipelines are tenant configuration every user of the tenant may read."""
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(Pipeline).where(Pipeline.tenant_id == self.access.actor.tenant_id, Pipeline.id.in_(set(ids)))
                )
            ).scalars()
            found = {r.id: r for r in rows}
        return [found.get(i) for i in ids]

    def _dependent_by_id(self, model: type):  # type: ignore[no-untyped-def]
        async def load(ids: list[uuid.UUID]) -> list[Any]:
            async with self.sessions() as session:
                found = await load_visible_dependents(session, self.access, model, ids)
            return [found.get(i) for i in ids]

        return load

    def _visible_by_id(self, model: type, resource: Resource):  # type: ignore[no-untyped-def]
        async def load(ids: list[uuid.UUID]) -> list[Any]:
            async with self.sessions() as session:
                found = await load_visible(session, self.access, model, resource, ids)
            return [found.get(i) for i in ids]

        return load

    async def viewer_pricing(self) -> Pricing:
        """The viewer's prices (their partner price list, or list price), once per request."""
        if self._pricing is None:
            actor = self.access.actor
            async with self.sessions() as session:
                org = None
                if actor.is_partner and actor.organization_id is not None:
                    org = await session.get(Organization, (actor.tenant_id, actor.organization_id))
                self._pricing = await pricing_for(session, actor.tenant_id, org)
        return self._pricing

    def _all_by_parent(self, model: type, parent: InstrumentedAttribute[Any], where: ColumnElement[bool], order: Any):  # type: ignore[no-untyped-def]
        async def load(parent_ids: list[uuid.UUID]) -> list[list[Any]]:
            async with self.sessions() as session:
                rows = (
                    await session.execute(
                        select(model).where(where, parent.in_(set(parent_ids))).order_by(order, model.id)  # type: ignore[attr-defined]
                    )
                ).scalars()
                grouped: dict[uuid.UUID, list[Any]] = defaultdict(list)
                for row in rows:
                    grouped[getattr(row, parent.key)].append(row)
            return [grouped.get(i, []) for i in parent_ids]

        return load

    def _first_by_parent(
        self, model: type, parent: InstrumentedAttribute[Any], resource: Resource, sort: InstrumentedAttribute[Any]
    ):  # type: ignore[no-untyped-def]
        """First rows per parent, newest first, in one windowed statement per distinct page size."""

        async def load(keys: list[ChildPageKey]) -> list[ChildPage]:
            by_size: dict[int, set[uuid.UUID]] = defaultdict(set)
            for key in keys:
                by_size[key.first].add(key.parent_id)
            result: dict[ChildPageKey, ChildPage] = {}
            async with self.sessions() as session:
                for first, parent_ids in by_size.items():
                    rank = (
                        func.row_number()
                        .over(partition_by=parent, order_by=(sort.desc(), model.id.desc()))  # type: ignore[attr-defined]
                        .label("rank")
                    )
                    inner = select(model, rank).where(self.access.rows(resource), parent.in_(parent_ids)).subquery()
                    ranked = aliased(model, inner)
                    rows: Sequence[Any] = (
                        (
                            await session.execute(
                                select(ranked)
                                .where(inner.c.rank <= first + 1)
                                .order_by(inner.c[parent.key], inner.c.rank)
                            )
                        )
                        .scalars()
                        .all()
                    )
                    grouped: dict[uuid.UUID, list[Any]] = defaultdict(list)
                    for row in rows:
                        grouped[getattr(row, parent.key)].append(row)
                    for parent_id in parent_ids:
                        found = grouped.get(parent_id, [])
                        result[ChildPageKey(parent_id, first)] = ChildPage(found[:first], len(found) > first)
            return [result[k] for k in keys]

        return load

    def _count_by_parent(self, model: type, parent: InstrumentedAttribute[Any], resource: Resource):  # type: ignore[no-untyped-def]
        async def load(parent_ids: list[uuid.UUID]) -> list[int]:
            async with self.sessions() as session:
                rows = await session.execute(
                    select(parent, func.count())
                    .where(self.access.rows(resource), parent.in_(set(parent_ids)))
                    .group_by(parent)
                )
                counts = {p: c for p, c in rows}
            return [counts.get(i, 0) for i in parent_ids]

        return load


@dataclass
class Context:
    """What every resolver may use: the request, the actor, its access and the loaders."""

    request: Request
    sessions: async_sessionmaker[AsyncSession]
    access: PolicyAccess
    loaders: Loaders
    request_id: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> Actor:
        return self.access.actor
