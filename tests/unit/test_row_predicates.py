"""Every row rule keeps to the tenant in each of its subqueries, so PostgreSQL can use the (tenant_id, id) keys."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import BinaryExpression, Select, Table
from sqlalchemy.sql import visitors
from sqlalchemy.sql.selectable import Alias

from domain.access.actor import Action, Actor, ActorKind, Resource
from permissions.defaults import Scope
from permissions.scopes import PREDICATES, rows_predicate

TENANT = uuid.uuid4()
INTERNAL = Actor(
    tenant_id=TENANT, kind=ActorKind.USER, roles=frozenset({"sales_manager"}), user_id=uuid.uuid4(),
    organization_id=uuid.uuid4(), organization_path="e.", territory_id=uuid.uuid4(), territory_path="t.",
)  # fmt: skip
PARTNER = Actor(
    tenant_id=TENANT, kind=ActorKind.USER, roles=frozenset({"partner_manager"}), user_id=uuid.uuid4(),
    organization_id=uuid.uuid4(), organization_path="e.d1.", is_partner=True,
)  # fmt: skip


def _table_of(from_: Any) -> Table | None:
    if isinstance(from_, Table):
        return from_
    if isinstance(from_, Alias) and isinstance(from_.element, Table):
        return from_.element
    return None


def _keeps_to_the_tenant(select: Select[Any], from_: Any) -> bool:
    """Whether the select's condition compares that FROM item's tenant_id (with anything)."""
    if select.whereclause is None:
        return False
    if str(select.whereclause) == "false":  # a rule that matches nothing reads no rows at all
        return True
    for element in visitors.iterate(select.whereclause):
        if isinstance(element, BinaryExpression):
            for side in (element.left, element.right):
                if getattr(side, "name", None) == "tenant_id" and getattr(side, "table", None) is from_:
                    return True
    return False


def _subqueries_without_the_tenant(predicate: Any) -> list[str]:
    missing = []
    for element in visitors.iterate(predicate):
        if not isinstance(element, Select):
            continue
        correlated = set(element._correlate)  # the enclosing row, whose own tenant condition is checked outside
        for from_ in element.get_final_froms():
            if from_ in correlated:
                continue
            table = _table_of(from_)
            if table is not None and "tenant_id" in table.c and not _keeps_to_the_tenant(element, from_):
                missing.append(f"{table.name} in: {element}")
    return missing


@pytest.mark.parametrize("actor", [INTERNAL, PARTNER], ids=["internal", "partner"])
@pytest.mark.parametrize("action", [Action.READ, Action.UPDATE])
@pytest.mark.parametrize("scope", sorted(Scope))
@pytest.mark.parametrize("resource", sorted(PREDICATES))
def test_every_subquery_of_a_row_rule_keeps_to_the_tenant(
    resource: Resource, scope: Scope, action: Action, actor: Actor
) -> None:
    predicate = rows_predicate(resource, frozenset({scope}), actor, action)
    assert _subqueries_without_the_tenant(predicate) == []
