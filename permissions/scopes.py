"""Compile a grant's scope into a SQL predicate over one resource's table.

Each predicate is a plain SQLAlchemy expression, so lists, counts, aggregates, loaders and
writes all carry the same rule. Subtrees are matched by materialized path prefix.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.orm.util import AliasedClass

from domain.access.actor import Action, Actor, Resource
from domain.audit.trail import AuditEvent
from domain.channel.deal_registrations import DealRegistration
from domain.channel.lead_routing import RoutingRule
from domain.channel.leads import Lead
from domain.channel.organizations import Organization
from domain.commerce.catalog import Product
from domain.commerce.contracts import Contract
from domain.commerce.orders import Order
from domain.commerce.quotes import Quote
from domain.erp.outbox import OutboxMessage
from domain.identity.users import User
from domain.selling.accounts import Account
from domain.selling.activities import Activity
from domain.selling.contacts import Contact
from domain.selling.opportunities import Opportunity, OpportunityPartner, OpportunityTeamMember, TeamAccess
from domain.selling.territories import Territory
from permissions.defaults import Scope

# A subquery of record ids, for `column.in_(...)`.
Ids = Select[uuid.UUID]


def _org_subtree_ids(actor: Actor, path: str) -> Ids:
    """Ids of the actor's organization (at `path`, its materialized path) and every organization below it."""
    return select(Organization.id).where(
        Organization.tenant_id == actor.tenant_id,
        Organization.path.startswith(path, autoescape=True),
    )


def _managed_partner_ids(actor: Actor) -> Ids:
    """Partners the actor is channel manager of, and every organization below them."""
    managed = aliased(Organization)
    return (
        select(Organization.id)
        .join(managed, and_(managed.tenant_id == Organization.tenant_id, Organization.path.startswith(managed.path)))
        .where(Organization.tenant_id == actor.tenant_id, managed.channel_manager_id == actor.user_id)
    )


def _territory_subtree_ids(actor: Actor, path: str) -> Ids:
    """Ids of the actor's territory (at `path`, its materialized path) and every territory below it."""
    return select(Territory.id).where(
        Territory.tenant_id == actor.tenant_id,
        Territory.path.startswith(path, autoescape=True),
    )


# How the rules are written (measured with EXPLAIN ANALYZE on the bench's 100k and 1M data, issue #14):
# - An opportunity's links (team seat, partner) are uncorrelated `o.id IN (SELECT ... WHERE tenant_id = :tenant
#   ...)` over the link table's (tenant_id, user_id | organization_id, opportunity_id) index: PostgreSQL reads the
#   set once and hashes it, and a count over the tenant stays a parallel scan. The same links written as EXISTS
#   correlated on o.id are parallel-restricted, and at 1M the planner then walked an index over the whole tenant
#   (2-6 s for a partner's or account manager's list and counts, against 0.1-0.3 s).
# - An account's link to its opportunities is an EXISTS over an alias of opportunity, correlated on the account and
#   constrained to the tenant. For a page of accounts (the loaders, a node) PostgreSQL probes the (tenant_id,
#   account_id) index per account; for a count it turns it into a hashed set, read through (tenant_id, id) INCLUDE
#   account_id (migration 0021). The former `account.id IN (SELECT account_id FROM opportunity WHERE id IN ...)`
#   had no tenant condition, so the (tenant_id, id) key was unusable and every request scanned all tenants'
#   opportunities.
# The alias keeps an enclosing query over opportunity (a join to the account) from capturing the subquery.
OpportunityRows = type[Opportunity] | AliasedClass[Opportunity]


def _team_opportunity_ids(actor: Actor, action: Action) -> Ids:
    """Opportunities the actor is on the team of; writes need EDIT access."""
    stmt = select(OpportunityTeamMember.opportunity_id).where(
        OpportunityTeamMember.tenant_id == actor.tenant_id,
        OpportunityTeamMember.user_id == actor.user_id,
    )
    if action is not Action.READ:
        stmt = stmt.where(OpportunityTeamMember.access == TeamAccess.EDIT)
    return stmt


def _partner_opportunity_ids(actor: Actor, organizations: uuid.UUID | Ids) -> Ids:
    """Opportunities linked to that partner organization, or to any of those."""
    stmt = select(OpportunityPartner.opportunity_id).where(OpportunityPartner.tenant_id == actor.tenant_id)
    if isinstance(organizations, uuid.UUID):
        return stmt.where(OpportunityPartner.organization_id == organizations)
    return stmt.where(OpportunityPartner.organization_id.in_(organizations))


def _opportunity_rule(scope: Scope, actor: Actor, action: Action, o: OpportunityRows) -> ColumnElement[bool]:
    """The opportunity `o` is in the scope."""
    match scope:
        case Scope.TENANT:
            return true()
        case Scope.OWN:
            return o.owner_id == actor.user_id if actor.user_id else false()
        case Scope.TEAM:
            return o.id.in_(_team_opportunity_ids(actor, action)) if actor.user_id else false()
        case Scope.ORG:
            if actor.organization_id is None:
                return false()
            return o.id.in_(_partner_opportunity_ids(actor, actor.organization_id))
        case Scope.ORG_TREE:
            if actor.organization_path is None:
                return false()
            return o.id.in_(_partner_opportunity_ids(actor, _org_subtree_ids(actor, actor.organization_path)))
        case Scope.TERRITORY:
            if actor.territory_path is None:
                return false()
            return o.territory_id.in_(_territory_subtree_ids(actor, actor.territory_path))
        case Scope.MANAGED:
            return o.id.in_(_partner_opportunity_ids(actor, _managed_partner_ids(actor))) if actor.user_id else false()


def opportunity_predicate(scope: Scope, actor: Actor, action: Action) -> ColumnElement[bool]:
    return _opportunity_rule(scope, actor, action, Opportunity)


def _opportunity_ids_in_scope(scope: Scope, actor: Actor, action: Action) -> Ids:
    """Ids of the opportunities in the scope, for the records that belong to a deal (`opportunity_id IN (...)`).

    A scope that is a link to the deal (a team seat, a partner link) is the link table's own `opportunity_id`: its
    foreign key (tenant_id, opportunity_id) guarantees the deal is the tenant's (and removes the link with the
    deal), so reading `opportunity` as well adds no row and removes none. It did cost a probe of opportunity's key
    per linked deal: for a distributor's 50,000 deals, every time a list of orders, quotes or receivables checked
    them (55 ms at the bench's 100k opportunities, 300 ms at 1M, against 11-20 ms for the links alone).

    It stays a set for lists: checked per row (an EXISTS on the link's (tenant_id, opportunity_id) key) the
    distributor's orders cost 8-10 ms at 100k (1,000 orders) but 60 ms at 1M (10,000), where the set stays at
    11-20 ms; and PostgreSQL, offered both, picks the set. Single records take the per-row form (`per_row`).
    """
    match scope:
        case Scope.TEAM if actor.user_id:
            return _team_opportunity_ids(actor, action)
        case Scope.ORG if actor.organization_id:
            return _partner_opportunity_ids(actor, actor.organization_id)
        case Scope.ORG_TREE if actor.organization_path:
            return _partner_opportunity_ids(actor, _org_subtree_ids(actor, actor.organization_path))
        case Scope.MANAGED if actor.user_id:
            return _partner_opportunity_ids(actor, _managed_partner_ids(actor))
        case _:
            return select(Opportunity.id).where(
                Opportunity.tenant_id == actor.tenant_id, opportunity_predicate(scope, actor, action)
            )


def _owned_opportunity_ids(actor: Actor) -> Ids:
    """Opportunities the actor owns."""
    return select(Opportunity.id).where(Opportunity.tenant_id == actor.tenant_id, Opportunity.owner_id == actor.user_id)


def _has_opportunity(actor: Actor, scope: Scope, action: Action) -> ColumnElement[bool]:
    """The account has an opportunity in the scope."""
    o = aliased(Opportunity, name="account_opportunity")
    deals = select(o.id).where(
        o.tenant_id == actor.tenant_id, o.account_id == Account.id, _opportunity_rule(scope, actor, action, o)
    )
    return deals.correlate(Account).exists()


def account_predicate(scope: Scope, actor: Actor, action: Action) -> ColumnElement[bool]:
    """An account is in scope by its own fields or through an opportunity in the same scope.

    Owning a deal lets one read its account (and so its contacts), as a team seat does: a deal handed to a new
    owner stays workable. Changing the account stays with its own owner and the wider scopes.
    """
    a = Account
    match scope:
        case Scope.TENANT:
            return true()
        case Scope.OWN:
            if actor.user_id is None:
                return false()
            if action is Action.READ:
                return or_(a.owner_id == actor.user_id, _has_opportunity(actor, scope, action))
            return a.owner_id == actor.user_id
        case Scope.TEAM:
            return _has_opportunity(actor, scope, action) if actor.user_id else false()
        case Scope.ORG:
            if actor.organization_id is None:
                return false()
            return or_(a.managing_partner_id == actor.organization_id, _has_opportunity(actor, scope, action))
        case Scope.ORG_TREE:
            if actor.organization_path is None:
                return false()
            return or_(
                a.managing_partner_id.in_(_org_subtree_ids(actor, actor.organization_path)),
                _has_opportunity(actor, scope, action),
            )
        case Scope.TERRITORY:
            if actor.territory_path is None:
                return false()
            return a.territory_id.in_(_territory_subtree_ids(actor, actor.territory_path))
        case Scope.MANAGED:
            if actor.user_id is None:
                return false()
            return or_(a.managing_partner_id.in_(_managed_partner_ids(actor)), _has_opportunity(actor, scope, action))


def contact_predicate(scope: Scope, actor: Actor, action: Action) -> ColumnElement[bool]:
    """A contact is in scope when its account is."""
    if scope is Scope.TENANT:
        return true()
    return Contact.account_id.in_(
        select(Account.id).where(Account.tenant_id == actor.tenant_id, account_predicate(scope, actor, action))
    )


def activity_predicate(scope: Scope, actor: Actor, action: Action) -> ColumnElement[bool]:
    """An activity is in scope when its opportunity is, or (with none) its account; own means its owner."""
    if scope is Scope.TENANT:
        return true()
    if scope is Scope.OWN:
        if actor.user_id is None:
            return false()
        mine = or_(Activity.owner_id == actor.user_id, Activity.assignee_id == actor.user_id)
        if action is Action.READ:  # the timeline of a deal one owns
            return or_(mine, Activity.opportunity_id.in_(_owned_opportunity_ids(actor)))
        return mine
    visible_opportunities = _opportunity_ids_in_scope(scope, actor, action)
    visible_accounts = select(Account.id).where(
        Account.tenant_id == actor.tenant_id, account_predicate(scope, actor, action)
    )
    return or_(
        Activity.opportunity_id.in_(visible_opportunities),
        and_(Activity.opportunity_id.is_(None), Activity.account_id.in_(visible_accounts)),
    )


def organization_predicate(scope: Scope, actor: Actor, action: Action) -> ColumnElement[bool]:
    match scope:
        case Scope.TENANT:
            return true()
        case Scope.ORG_TREE if actor.organization_path:
            return Organization.path.startswith(actor.organization_path, autoescape=True)
        case Scope.ORG | Scope.OWN | Scope.TEAM if actor.organization_id:
            return Organization.id == actor.organization_id
        case Scope.MANAGED if actor.user_id:
            return Organization.id.in_(_managed_partner_ids(actor))
        case _:
            return false()


def user_predicate(scope: Scope, actor: Actor, action: Action) -> ColumnElement[bool]:
    match scope:
        case Scope.TENANT:
            return true()
        case Scope.OWN if actor.user_id:
            return User.id == actor.user_id
        case Scope.TEAM if actor.user_id:
            return or_(User.id == actor.user_id, User.manager_id == actor.user_id)
        case Scope.ORG if actor.organization_id:
            return User.organization_id == actor.organization_id
        case Scope.ORG_TREE if actor.organization_path:
            return User.organization_id.in_(_org_subtree_ids(actor, actor.organization_path))
        case Scope.TERRITORY if actor.territory_path:
            return User.territory_id.in_(_territory_subtree_ids(actor, actor.territory_path))
        case _:
            return false()


def territory_predicate(scope: Scope, actor: Actor, action: Action) -> ColumnElement[bool]:
    if scope is Scope.TENANT:
        return true()
    if scope is Scope.TERRITORY and actor.territory_path:
        return Territory.path.startswith(actor.territory_path, autoescape=True)
    return false()


def deal_registration_predicate(scope: Scope, actor: Actor, action: Action) -> ColumnElement[bool]:
    """A registration belongs to the partner organization that submitted it, and to its submitter."""
    r = DealRegistration
    match scope:
        case Scope.TENANT:
            return true()
        case Scope.OWN if actor.user_id:
            return r.submitted_by_id == actor.user_id
        case Scope.ORG if actor.organization_id:
            return r.partner_organization_id == actor.organization_id
        case Scope.ORG_TREE if actor.organization_path:
            return r.partner_organization_id.in_(_org_subtree_ids(actor, actor.organization_path))
        case Scope.MANAGED if actor.user_id:
            return r.partner_organization_id.in_(_managed_partner_ids(actor))
        case _:
            return false()


def lead_predicate(scope: Scope, actor: Actor, action: Action) -> ColumnElement[bool]:
    """A lead belongs to its owner and creator, its territory, and the partner it was offered to or found it."""
    match scope:
        case Scope.TENANT:
            return true()
        case Scope.OWN if actor.user_id:
            return or_(Lead.owner_id == actor.user_id, Lead.created_by_id == actor.user_id)
        case Scope.ORG if actor.organization_id:
            return Lead.partner_organization_id == actor.organization_id
        case Scope.ORG_TREE if actor.organization_path:
            return Lead.partner_organization_id.in_(_org_subtree_ids(actor, actor.organization_path))
        case Scope.TERRITORY if actor.territory_path:
            return Lead.territory_id.in_(_territory_subtree_ids(actor, actor.territory_path))
        case Scope.MANAGED if actor.user_id:
            return Lead.partner_organization_id.in_(_managed_partner_ids(actor))
        case _:
            return false()


def tenant_only_predicate(scope: Scope, actor: Actor, action: Action) -> ColumnElement[bool]:
    """Resources whose rows are further narrowed by the record they belong to (audit events)."""
    return true() if scope is Scope.TENANT else false()


def quote_predicate(scope: Scope, actor: Actor, action: Action) -> ColumnElement[bool]:
    """A quote is in scope when its opportunity is."""
    if scope is Scope.TENANT:
        return true()
    return Quote.opportunity_id.in_(_opportunity_ids_in_scope(scope, actor, action))


def _commerce_predicate(model: Any, scope: Scope, actor: Actor, action: Action) -> ColumnElement[bool]:
    """Orders and contracts: through their opportunity, their account (internal scopes) or the buying partner.

    Partner scopes never reach a record through the account alone, so a partner does not see the
    enterprise's direct business with a customer it also serves.
    """
    if scope is Scope.TENANT:
        return true()
    via_opportunity = model.opportunity_id.in_(_opportunity_ids_in_scope(scope, actor, action))
    via_account = model.account_id.in_(
        select(Account.id).where(Account.tenant_id == actor.tenant_id, account_predicate(scope, actor, action))
    )
    match scope:
        case Scope.OWN:
            if actor.user_id is None:
                return false()
            # Accounts the actor owns, not those they only read through a deal of theirs: owning one deal
            # does not open the account's other business.
            via_owned_account = model.account_id.in_(
                select(Account.id).where(Account.tenant_id == actor.tenant_id, Account.owner_id == actor.user_id)
            )
            return or_(model.owner_id == actor.user_id, via_opportunity, via_owned_account)
        case Scope.TEAM:
            return via_opportunity
        case Scope.TERRITORY:
            return or_(via_opportunity, via_account)
        case Scope.ORG if actor.organization_id:
            return or_(model.partner_organization_id == actor.organization_id, via_opportunity)
        case Scope.ORG_TREE if actor.organization_path:
            return or_(
                model.partner_organization_id.in_(_org_subtree_ids(actor, actor.organization_path)), via_opportunity
            )
        case Scope.MANAGED if actor.user_id:
            return or_(model.partner_organization_id.in_(_managed_partner_ids(actor)), via_opportunity)
        case _:
            return false()


def order_predicate(scope: Scope, actor: Actor, action: Action) -> ColumnElement[bool]:
    return _commerce_predicate(Order, scope, actor, action)


def contract_predicate(scope: Scope, actor: Actor, action: Action) -> ColumnElement[bool]:
    return _commerce_predicate(Contract, scope, actor, action)


Predicate = Callable[[Scope, Actor, Action], ColumnElement[bool]]

PREDICATES: dict[Resource, tuple[type, Predicate]] = {
    Resource.OPPORTUNITY: (Opportunity, opportunity_predicate),
    Resource.OPPORTUNITY_OWNER: (Opportunity, opportunity_predicate),
    Resource.OPPORTUNITY_TEAM: (User, user_predicate),
    Resource.OPPORTUNITY_PARTNER: (Organization, organization_predicate),
    Resource.ACCOUNT: (Account, account_predicate),
    Resource.CONTACT: (Contact, contact_predicate),
    Resource.ACTIVITY: (Activity, activity_predicate),
    Resource.ORGANIZATION: (Organization, organization_predicate),
    Resource.USER: (User, user_predicate),
    Resource.TERRITORY: (Territory, territory_predicate),
    Resource.AUDIT_EVENT: (AuditEvent, tenant_only_predicate),
    Resource.DEAL_REGISTRATION: (DealRegistration, deal_registration_predicate),
    Resource.LEAD: (Lead, lead_predicate),
    Resource.ROUTING_RULE: (RoutingRule, tenant_only_predicate),
    Resource.PRODUCT: (Product, tenant_only_predicate),
    Resource.QUOTE: (Quote, quote_predicate),
    Resource.ORDER: (Order, order_predicate),
    Resource.CONTRACT: (Contract, contract_predicate),
    Resource.ERP_SYNC: (OutboxMessage, tenant_only_predicate),
}


def _effective(scopes: frozenset[Scope], actor: Actor) -> frozenset[Scope]:
    """The scopes a rule is built from: the organization's subtree holds the organization itself, so with ORG_TREE
    ORG adds no row and would only make PostgreSQL gather the same partner links twice."""
    if Scope.ORG_TREE in scopes and actor.organization_path is not None:
        return scopes - {Scope.ORG}
    return scopes


def rows_predicate(resource: Resource, scopes: frozenset[Scope], actor: Actor, action: Action) -> ColumnElement[bool]:
    """The rows of `resource` the actor may act on: the tenant, and any granted scope."""
    model, predicate = PREDICATES[resource]
    if not scopes:
        return false()
    tenant_match = model.tenant_id == actor.tenant_id  # type: ignore[attr-defined]
    if Scope.TENANT in scopes:
        return tenant_match
    return and_(tenant_match, or_(*(predicate(s, actor, action) for s in sorted(_effective(scopes, actor)))))


def tenant_rows(resource: Resource, actor: Actor) -> ColumnElement[bool]:
    """Every row of `resource` in the actor's tenant: the rule left of a read another rule already proves."""
    model, _ = PREDICATES[resource]
    return model.tenant_id == actor.tenant_id  # type: ignore[attr-defined]


# The read rules a parent record's read rule already proves, scope by scope. The key is the child's resource, the
# parent's, and the foreign key that reaches the child from the parent, as "table.column": a to-one record its
# parent names ("opportunity.account_id") or the children that name their parent ("activity.opportunity_id"). The
# value is the scopes s in which "the parent is in s" proves "every child so reached is in s", by the predicates
# above; `tests/integration/access/test_implied_reads.py` checks each one against the access table's records.
IMPLIED_READS: dict[tuple[Resource, Resource, str], frozenset[Scope]] = {
    # account_predicate: in every scope but TERRITORY (where an account has a territory of its own, apart from its
    # deals') an account is read through any of its opportunities in the same scope (`_has_opportunity`).
    (Resource.ACCOUNT, Resource.OPPORTUNITY, "opportunity.account_id"): frozenset(Scope) - {Scope.TERRITORY},
    # activity_predicate: an activity on a deal is in a scope when the deal is (OWN: on a deal one owns).
    (Resource.ACTIVITY, Resource.OPPORTUNITY, "activity.opportunity_id"): frozenset(Scope),
}


def implied_read(
    child: Resource,
    parent: Resource,
    link: str,
    scopes: Callable[[Resource], frozenset[Scope]],
    actor: Actor,
) -> bool:
    """Whether every `child` record reached through `link` from a `parent` record the actor may read is one the
    actor may read: each scope the parent is read in (`scopes(parent)`) is granted on the child too, and proves it
    (IMPLIED_READS). A child's rule so proved is left out of a statement that reads the parent with its own rule:
    for a partner, the account of a deal repeats the deal's own rule inside it three times (22 KB of SQL for a deal
    page, about a third of its execution time spent starting and ending the plan's nodes)."""
    implied = IMPLIED_READS.get((child, parent, link))
    read_in = scopes(parent)
    if implied is None or not read_in:
        return False
    granted = scopes(child)
    return all(s in implied and s in granted for s in _effective(read_in, actor))
