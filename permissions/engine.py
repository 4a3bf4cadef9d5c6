"""Per-tenant Casbin enforcers loaded from the database, and the per-request Access they yield."""

from __future__ import annotations

import asyncio
import uuid
import weakref
from dataclasses import dataclass, field
from importlib.resources import files

import casbin
from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.actor import Action, Actor, Resource
from domain.access.policy_rules import PolicyRule
from domain.identity.tenants import Tenant
from permissions.defaults import Scope, default_policy_lines
from permissions.scopes import implied_read, rows_predicate, tenant_rows

MODEL_TEXT = files("permissions").joinpath("rbac_with_scopes.conf").read_text()


class CountingEnforcer(casbin.Enforcer):
    """An enforcer that counts the questions it is asked, so tests can bound them per request."""

    calls = 0

    def get_implicit_permissions_for_user(self, user: str, domain: str = "", filter_policy_dom: bool = True):
        type(self).calls += 1
        return super().get_implicit_permissions_for_user(user, domain, filter_policy_dom=filter_policy_dom)


def _new_enforcer(lines: list[list[str]]) -> CountingEnforcer:
    enforcer = CountingEnforcer(_model())
    for ptype, *rule in lines:
        enforcer.get_model().add_policy(ptype[0], ptype, rule)
    enforcer.build_role_links()
    return enforcer


def _model() -> casbin.Model:
    model = casbin.Model()
    model.load_model_from_text(MODEL_TEXT)
    return model


@dataclass
class _Cached:
    version: int
    enforcer: CountingEnforcer


class EnforcerCache:
    """One enforcer per tenant, reloaded when the tenant's policy version moves."""

    def __init__(self) -> None:
        self._by_tenant: dict[uuid.UUID, _Cached] = {}
        # An asyncio lock belongs to one event loop; a process may run several (a server thread beside the tests).
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def get(self, session: AsyncSession, tenant_id: uuid.UUID, version: int) -> CountingEnforcer:
        cached = self._by_tenant.get(tenant_id)
        if cached and cached.version == version:
            return cached.enforcer
        async with self._lock():
            cached = self._by_tenant.get(tenant_id)
            if cached and cached.version == version:
                return cached.enforcer
            rows = (
                await session.execute(
                    select(PolicyRule).where(PolicyRule.tenant_id == tenant_id).order_by(PolicyRule.id)
                )
            ).scalars()
            lines = [[r.ptype, r.v0, r.v1, r.v2, *([r.v3, r.v4] if r.ptype == "p" else [])] for r in rows]
            enforcer = _new_enforcer(lines)
            self._by_tenant[tenant_id] = _Cached(version, enforcer)
            return enforcer

    def kept(self, tenant_id: uuid.UUID, version: int) -> CountingEnforcer | None:
        """The tenant's enforcer if it is loaded at this policy version, without reading anything."""
        cached = self._by_tenant.get(tenant_id)
        return cached.enforcer if cached and cached.version == version else None


ENFORCERS = EnforcerCache()


@dataclass
class PolicyAccess:
    """Everything the actor's roles grant, worked out once per request."""

    actor: Actor
    grants: dict[tuple[Resource, Action], frozenset[Scope]] = field(default_factory=dict)

    def can(self, resource: Resource, action: Action) -> bool:
        return bool(self.grants.get((resource, action)))

    def scopes(self, resource: Resource, action: Action) -> frozenset[Scope]:
        return self.grants.get((resource, action), frozenset())

    def rows(self, resource: Resource, action: Action = Action.READ) -> ColumnElement[bool]:
        return rows_predicate(resource, self.scopes(resource, action), self.actor, action)

    def rows_beyond_team(self, resource: Resource, action: Action) -> ColumnElement[bool]:
        return rows_predicate(resource, self.scopes(resource, action) - {Scope.TEAM}, self.actor, action)

    def rows_reached(self, resource: Resource, parent: Resource, link: str) -> ColumnElement[bool]:
        if implied_read(resource, parent, link, lambda r: self.scopes(r, Action.READ), self.actor):
            return tenant_rows(resource, self.actor)
        return self.rows(resource)


Grants = dict[tuple[Resource, Action], frozenset[Scope]]
# What each set of roles is granted, kept per enforcer: a tenant's policy change makes a new enforcer.
_GRANTS: weakref.WeakKeyDictionary[casbin.Enforcer, dict[tuple[str, frozenset[str]], Grants]] = (
    weakref.WeakKeyDictionary()
)


def grants_for(enforcer: casbin.Enforcer, actor: Actor) -> Grants:
    """Every permission the actor's roles hold, directly or inherited: Casbin is asked once per role, the first
    time a tenant's policy version meets that set of roles."""
    kept = _GRANTS.setdefault(enforcer, {})
    key = (str(actor.tenant_id), frozenset(actor.roles))
    found = kept.get(key)
    if found is None:
        found = kept[key] = _ask(enforcer, actor)
    return found


def forget_kept_grants() -> None:
    """Drop the grants kept per enforcer (a test counting Casbin's questions)."""
    _GRANTS.clear()


def _ask(enforcer: casbin.Enforcer, actor: Actor) -> Grants:
    collected: dict[tuple[Resource, Action], set[Scope]] = {}
    domain = str(actor.tenant_id)
    for role in sorted(actor.roles):
        for _sub, _dom, obj, act, scope in enforcer.get_implicit_permissions_for_user(role, domain):
            try:
                key = (Resource(obj), Action(act))
                collected.setdefault(key, set()).add(Scope(scope))
            except ValueError:
                continue  # a policy line for a resource this version does not know
    return {k: frozenset(v) for k, v in collected.items()}


async def access_for(session: AsyncSession, actor: Actor, policy_version: int | None = None) -> PolicyAccess:
    """Build the request's Access: one cached enforcer, one Casbin question per role."""
    if policy_version is None:
        policy_version = (
            await session.execute(select(Tenant.policy_version).where(Tenant.id == actor.tenant_id))
        ).scalar_one()
    enforcer = await ENFORCERS.get(session, actor.tenant_id, policy_version)
    return PolicyAccess(actor, grants_for(enforcer, actor))


def kept_access_for(actor: Actor, policy_version: int | None) -> PolicyAccess | None:
    """`access_for` when the tenant's policy at this version is loaded already (nothing to read), else None."""
    enforcer = ENFORCERS.kept(actor.tenant_id, policy_version) if policy_version is not None else None
    return PolicyAccess(actor, grants_for(enforcer, actor)) if enforcer is not None else None


async def seed_default_policies(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Replace a tenant's policies with the defaults (used when a tenant is created)."""
    await session.execute(delete(PolicyRule).where(PolicyRule.tenant_id == tenant_id))
    for ptype, *values in default_policy_lines(str(tenant_id)):
        padded = [*values, "", "", "", ""][:5]
        session.add(
            PolicyRule(
                tenant_id=tenant_id, ptype=ptype, v0=padded[0], v1=padded[1], v2=padded[2], v3=padded[3], v4=padded[4]
            )
        )
    await session.execute(update(Tenant).where(Tenant.id == tenant_id).values(policy_version=Tenant.policy_version + 1))
