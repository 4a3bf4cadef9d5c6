"""The default policy set: which scopes each role gets, resolved through Casbin with role inheritance."""

from __future__ import annotations

import uuid

import pytest

from domain.access.actor import Action, Actor, ActorKind, Resource
from domain.identity.users import ALL_ROLES, PARTNER_ROLES
from permissions.defaults import Scope, default_policy_lines
from permissions.engine import _new_enforcer, grants_for

TENANT = uuid.uuid4()
ENFORCER = _new_enforcer(default_policy_lines(str(TENANT)))


def scopes(role: str, resource: Resource, action: Action) -> set[Scope]:
    actor = Actor(tenant_id=TENANT, kind=ActorKind.USER, roles=frozenset({role}))
    return set(grants_for(ENFORCER, actor).get((resource, action), frozenset()))


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", {Scope.TENANT}),
        ("sales_director", {Scope.TENANT, Scope.TERRITORY, Scope.OWN, Scope.TEAM}),
        ("sales_manager", {Scope.TERRITORY, Scope.OWN, Scope.TEAM}),
        ("account_manager", {Scope.OWN, Scope.TEAM}),
        ("solution_specialist", {Scope.TEAM}),
        ("negotiator", {Scope.TEAM}),
        ("finance", {Scope.TENANT}),
        ("service_agent", set()),
        ("partner_admin", {Scope.ORG_TREE, Scope.ORG, Scope.OWN, Scope.TEAM}),
        ("partner_manager", {Scope.ORG_TREE, Scope.ORG, Scope.OWN, Scope.TEAM}),
        ("partner_sales", {Scope.ORG, Scope.OWN, Scope.TEAM}),
        ("erp_integration", {Scope.TENANT}),
    ],
)
def test_opportunity_read_scopes(role: str, expected: set[Scope]) -> None:
    assert scopes(role, Resource.OPPORTUNITY, Action.READ) == expected


@pytest.mark.parametrize("role", sorted(PARTNER_ROLES))
def test_partner_roles_never_read_internal_fields_or_the_audit_trail(role: str) -> None:
    assert not scopes(role, Resource.OPPORTUNITY_INTERNAL, Action.READ)
    assert not scopes(role, Resource.AUDIT_EVENT, Action.READ)
    assert Scope.TENANT not in scopes(role, Resource.OPPORTUNITY, Action.READ)


def test_every_known_role_is_named_in_the_policies() -> None:
    named = {line[1] for line in default_policy_lines(str(TENANT))}
    assert ALL_ROLES <= named


def test_finance_reads_but_never_updates_sales_records() -> None:
    for resource in (Resource.ACCOUNT, Resource.OPPORTUNITY, Resource.CONTACT):
        assert scopes("finance", resource, Action.READ) == {Scope.TENANT}
        assert not scopes("finance", resource, Action.UPDATE)


# role -> scopes of (handing a deal over: over deals, changing people's places on deals: over users,
# changing organizations' links to deals: over organizations)
WHO_WORKS_A_DEAL = {
    "admin": ({Scope.TENANT}, {Scope.TENANT}, {Scope.TENANT}),
    "sales_director": ({Scope.TENANT, Scope.TERRITORY, Scope.OWN}, {Scope.TENANT}, {Scope.TENANT}),
    "sales_manager": ({Scope.TERRITORY, Scope.OWN}, {Scope.TENANT}, {Scope.TENANT}),
    "account_manager": ({Scope.OWN}, {Scope.TENANT}, {Scope.TENANT}),
    "channel_manager": ({Scope.OWN}, {Scope.TENANT}, {Scope.TENANT}),
    "solution_specialist": (set(), {Scope.TENANT}, {Scope.TENANT}),  # a team seat never hands a deal over
    "negotiator": (set(), {Scope.TENANT}, {Scope.TENANT}),
    "partner_admin": ({Scope.ORG_TREE, Scope.OWN}, {Scope.ORG}, {Scope.ORG}),
    "partner_manager": ({Scope.ORG_TREE, Scope.OWN}, {Scope.ORG}, {Scope.ORG}),
    "partner_sales": ({Scope.OWN}, {Scope.ORG}, {Scope.ORG}),  # at most their own organization's people
    "erp_integration": (set(), set(), set()),
}


@pytest.mark.parametrize(("role", "expected"), sorted(WHO_WORKS_A_DEAL.items()))
def test_who_may_change_who_works_a_deal(role: str, expected: tuple[set[Scope], ...]) -> None:
    resources = (Resource.OPPORTUNITY_OWNER, Resource.OPPORTUNITY_TEAM, Resource.OPPORTUNITY_PARTNER)
    assert tuple(scopes(role, r, Action.UPDATE) for r in resources) == expected


def test_channel_managers_change_only_the_partners_they_manage() -> None:
    assert scopes("channel_manager", Resource.ORGANIZATION, Action.UPDATE) == {Scope.MANAGED}
    assert scopes("channel_manager", Resource.ORGANIZATION, Action.CREATE) == {Scope.TENANT}
