"""Why a user can or cannot see or change a record: the roles, scopes and links that decide it.

Each granted scope is tested on its own with the same SQL predicate that governs every read, so
the explanation can never disagree with what the user is actually shown: those tests read through the
explained user's own door, one scope at a time. The words that name the links (their team seat, the
partners linked, their territory) and the deal's stage are read through the named system access
`explain access`, since they describe the record the asking user has already been shown.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import casbin
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.actor import Action, Actor, Resource
from domain.access.principals import load_user_actor
from domain.access.unit_of_work import UnitOfWork, system_unit_of_work
from domain.channel.organizations import Organization
from domain.identity.users import User
from domain.selling.opportunities import Opportunity, OpportunityPartner, OpportunityTeamMember
from domain.selling.team_stage_rules import FieldGroup, team_stage_limit
from domain.selling.territories import Territory
from domain.shared.errors import Forbidden, NotFound
from permissions.defaults import Scope
from permissions.engine import ENFORCERS, access_for
from permissions.scopes import PREDICATES

EXPLAINED_ACTIONS = (Action.READ, Action.UPDATE)
# The system access that reads the words of an explanation: links and names on the record explained.
EXPLAIN_ACCESS = "explain access"


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


async def _detail(words: UnitOfWork, actor: Actor, resource: Resource, record_id: uuid.UUID, scope: Scope) -> str:
    """Words for why this scope covers the record."""
    session = words.session
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
            name = await session.scalar(
                words.visible_columns(Territory, Territory.name).where(Territory.id == actor.territory_id)
            )
            return f"it lies in their territory {name}"
        case Scope.ORG | Scope.ORG_TREE | Scope.MANAGED if resource is Resource.OPPORTUNITY:
            partners = (
                select(Organization.name, OpportunityPartner.role)
                .join(
                    Organization,
                    (Organization.tenant_id == OpportunityPartner.tenant_id)
                    & (Organization.id == OpportunityPartner.organization_id),
                )
                .where(words.rows(Organization), OpportunityPartner.opportunity_id == record_id)
                .order_by(Organization.name)
            )
            links = (await session.execute(words.mark(partners))).all()
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
    # The actor's own door, asked one granted scope at a time (each scope is a part of what their door lets by).
    door = UnitOfWork(session, await access_for(session, actor, policy_version))
    words = system_unit_of_work(session, actor.tenant_id, EXPLAIN_ACCESS)
    model, predicate = PREDICATES[resource]
    explanation = Explanation()
    for action in EXPLAINED_ACTIONS:
        explanation.can[action] = False
        for role, granting, scope in _grants_by_role(enforcer, actor, resource, action):
            by_scope = select(model.id).where(  # type: ignore[attr-defined]
                model.tenant_id == actor.tenant_id,  # type: ignore[attr-defined]
                model.id == record_id,  # type: ignore[attr-defined]
                predicate(scope, actor, action),
            )
            if await session.scalar(door.mark(by_scope)) is not None:
                explanation.can[action] = True
                detail = await _detail(words, actor, resource, record_id, scope)
                explanation.reasons.append(Reason(action, role, granting, scope, detail))
    read, edit = explanation.can[Action.READ], explanation.can[Action.UPDATE]
    limit = None
    if resource is Resource.OPPORTUNITY:
        explanation.editable_groups = list(FieldGroup) if edit else []
        opportunity = (await words.load(Opportunity, [record_id])).get(record_id)
        if edit and opportunity is not None and actor.is_partner and opportunity.stage.is_closed:
            explanation.can[Action.UPDATE], explanation.editable_groups = False, []
            explanation.summary = "Can see it but not edit it: the deal is closed, and partners only read closed deals."
            return explanation
        if edit and opportunity is not None:
            limit = await team_stage_limit(door, opportunity)
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


@dataclass(frozen=True)
class ExplainedAccess:
    """A user's access to one record: who they are, what they may do and why, and whether they read its
    internal-only fields."""

    user: User
    explanation: Explanation
    can_read_internal_fields: bool


async def explain_access(
    uow: UnitOfWork, model: type, resource: Resource, record_id: uuid.UUID, user_id: uuid.UUID | None
) -> ExplainedAccess:
    """Why a user (the actor, when `user_id` is None) can or cannot see or edit a record the actor can see.

    Explaining someone else's access is for those whose role reads the policies (admins).
    """
    if not await uow.load(model, [record_id], resource=resource):
        raise NotFound("No record with that recordId.", field="recordId")
    target_id = user_id or uow.actor.user_id
    if target_id != uow.actor.user_id and not uow.access.can(Resource.POLICY, Action.READ):
        raise Forbidden("Only admins explain another user's access.")
    user = (await uow.load(User, [target_id])).get(target_id) if target_id is not None else None
    if user is None:
        raise NotFound("No user with that userId.", field="userId")
    loaded = await load_user_actor(uow.session, uow.tenant_id, user.id)
    if loaded is None:
        nothing = Explanation(
            can={Action.READ: False, Action.UPDATE: False},
            summary="Has no access at all: deactivated, or their organization is suspended.",
            editable_groups=[] if resource is Resource.OPPORTUNITY else None,
        )
        return ExplainedAccess(user, nothing, can_read_internal_fields=False)
    explanation = await explain(uow.session, loaded.actor, loaded.policy_version, resource, record_id)
    target_access = await access_for(uow.session, loaded.actor, loaded.policy_version)
    internal = explanation.can[Action.READ] and target_access.can(Resource.OPPORTUNITY_INTERNAL, Action.READ)
    return ExplainedAccess(user, explanation, can_read_internal_fields=internal)
