"""Why a user can or cannot see or change a record: the roles, scopes and links that decide it.

Each granted scope is tested on its own with the same SQL predicate that governs every read, so
the explanation can never disagree with what the user is actually shown.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import casbin
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.actor import Action, Actor, Resource
from domain.channel.organizations import Organization
from domain.selling.opportunities import Opportunity, OpportunityPartner, OpportunityTeamMember
from domain.selling.team_stage_rules import FieldGroup, team_stage_limit
from domain.selling.territories import Territory
from permissions.defaults import Scope
from permissions.engine import ENFORCERS, access_for
from permissions.scopes import PREDICATES

EXPLAINED_ACTIONS = (Action.READ, Action.UPDATE)


@dataclass(frozen=True)
class Reason:
    """One grant that covers (or would cover) the record."""

    action: Action
    role: str  # the role the user holds
    granted_via: str  # the role whose policy line grants it (the same, or one it inherits)
    scope: Scope
    detail: str


@dataclass
class Explanation:
    """What a user may do to one record, and why."""

    can: dict[Action, bool] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)
    summary: str = ""
    # For an opportunity: the field groups they may change at its current stage (team stage rules included).
    editable_groups: list[FieldGroup] | None = None


def _grants_by_role(
    enforcer: casbin.Enforcer, actor: Actor, resource: Resource, action: Action
) -> list[tuple[str, str, Scope]]:
    """(role held, role granting, scope) for every policy line that grants the action on the resource."""
    found = set()
    for role in sorted(actor.roles):
        for granting, _dom, obj, act, scope in enforcer.get_implicit_permissions_for_user(role, str(actor.tenant_id)):
            if obj == resource.value and act == action.value:
                found.add((role, granting, Scope(scope)))
    return sorted(found)


async def _detail(session: AsyncSession, actor: Actor, resource: Resource, record_id: uuid.UUID, scope: Scope) -> str:
    """Words for why this scope covers the record."""
    match scope:
        case Scope.TENANT:
            return "sees every record of this kind in the tenant"
        case Scope.OWN:
            return "owns it (or submitted or logged it)"
        case Scope.TEAM if resource is Resource.OPPORTUNITY:
            member = (
                await session.execute(
                    select(OpportunityTeamMember).where(
                        OpportunityTeamMember.tenant_id == actor.tenant_id,
                        OpportunityTeamMember.opportunity_id == record_id,
                        OpportunityTeamMember.user_id == actor.user_id,
                    )
                )
            ).scalar_one_or_none()
            if member is not None:
                return f"is on its team as {member.sales_role.value} with {member.access.value} access"
            return "is on its team"
        case Scope.TEAM:
            return "is on the team of a related opportunity"
        case Scope.TERRITORY:
            name = (
                await session.execute(select(Territory.name).where(Territory.id == actor.territory_id))
            ).scalar_one_or_none()
            return f"it lies in their territory {name}"
        case Scope.ORG | Scope.ORG_TREE | Scope.MANAGED if resource is Resource.OPPORTUNITY:
            links = (
                await session.execute(
                    select(Organization.name, OpportunityPartner.role)
                    .join(Organization, (Organization.tenant_id == OpportunityPartner.tenant_id)
                          & (Organization.id == OpportunityPartner.organization_id))
                    .where(OpportunityPartner.tenant_id == actor.tenant_id,
                           OpportunityPartner.opportunity_id == record_id)
                    .order_by(Organization.name)
                )
            ).all()  # fmt: skip
            linked = ", ".join(f"{name} ({role.value})" for name, role in links)
            how = {
                Scope.ORG: "their organization is linked",
                Scope.ORG_TREE: "an organization in their subtree is linked",
                Scope.MANAGED: "a partner they manage (or one below it) is linked",
            }[scope]
            return f"{how}: {linked}"
        case Scope.ORG:
            return "it belongs to their organization"
        case Scope.ORG_TREE:
            return "it belongs to their organization or one below it"
        case Scope.MANAGED:
            return "it belongs to a partner they manage, or one below it"
    return scope.value


async def explain(
    session: AsyncSession, actor: Actor, policy_version: int, resource: Resource, record_id: uuid.UUID
) -> Explanation:
    """For each action, every (role, scope) of the actor that covers the record; none means no access."""
    enforcer = await ENFORCERS.get(session, actor.tenant_id, policy_version)
    model, predicate = PREDICATES[resource]
    explanation = Explanation()
    for action in EXPLAINED_ACTIONS:
        explanation.can[action] = False
        for role, granting, scope in _grants_by_role(enforcer, actor, resource, action):
            covered = (
                await session.execute(
                    select(model.id).where(  # type: ignore[attr-defined]
                        model.tenant_id == actor.tenant_id,  # type: ignore[attr-defined]
                        model.id == record_id,  # type: ignore[attr-defined]
                        predicate(scope, actor, action),
                    )
                )
            ).scalar_one_or_none()
            if covered is not None:
                explanation.can[action] = True
                detail = await _detail(session, actor, resource, record_id, scope)
                explanation.reasons.append(Reason(action, role, granting, scope, detail))
    read, edit = explanation.can[Action.READ], explanation.can[Action.UPDATE]
    limit = None
    if resource is Resource.OPPORTUNITY:
        explanation.editable_groups = list(FieldGroup) if edit else []
        opportunity = (
            await session.execute(
                select(Opportunity).where(Opportunity.tenant_id == actor.tenant_id, Opportunity.id == record_id)
            )
        ).scalar_one_or_none()
        if edit and opportunity is not None and actor.is_partner and opportunity.stage.is_closed:
            explanation.can[Action.UPDATE], explanation.editable_groups = False, []
            explanation.summary = "Can see it but not edit it: the deal is closed, and partners only read closed deals."
            return explanation
        if edit and opportunity is not None:
            limit = await team_stage_limit(session, await access_for(session, actor, policy_version), opportunity)
    if limit is not None and limit.refused:
        # Their edit rests on a team seat, and the team stage rules narrow it at the deal's stage.
        explanation.editable_groups = limit.allowed
        explanation.can[Action.UPDATE] = bool(limit.allowed)
        refused = ", ".join(g.value for g in FieldGroup if g in limit.refused)
        as_role = f"as {limit.sales_role.value} on its team while it is in {limit.stage.name}"
        if limit.allowed:
            allowed = ", ".join(g.value for g in limit.allowed)
            explanation.summary = (
                f"Can see it and, {as_role}, change {allowed} only: team stage rules keep {refused} from them."
            )
        else:
            explanation.summary = (
                f"Can see it but, {as_role}, change nothing: team stage rules keep {refused} from them."
            )
    elif edit:
        explanation.summary = "Can see and edit it."
    elif read:
        explanation.summary = "Can see it but not edit it: no role of theirs grants editing in a scope covering it."
    else:
        explanation.summary = "Cannot see it: no role of theirs grants a scope that covers it."
    return explanation
