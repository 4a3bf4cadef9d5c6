"""Compiled statements kept per operation and actor, and run on the request's connection in one round trip.

A statement is rendered once per (document, operation, variables, actor's row-rule inputs): the row rules are
SQL, evaluated by PostgreSQL when the statement runs, so a kept statement stays right as records change; what
it depends on in Python (the actor's tenant, user, organization and territory paths, and the scopes its
roles grant) is all in its key.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import orjson

from domain.access.actor import Access
from domain.shared.errors import DomainError
from domain.shared.prepared import driver_connection
from services.compiled_reads.plan import NotCompiled, Root
from services.compiled_reads.render import CompiledStatement, compile_plan
from services.unit_of_work import Sessions, outside_transaction, reading

MAX_KEPT = 1024


class StatementCache:
    """The most recently used prepared operations (None: an operation known not to compile)."""

    def __init__(self, size: int = MAX_KEPT) -> None:
        self.size = size
        self.kept: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        """The kept entry, or False when there is none."""
        try:
            found = self.kept[key]
        except KeyError:
            return False
        self.kept.move_to_end(key)
        return found

    def put(self, key: Hashable, value: Any) -> None:
        self.kept[key] = value
        if len(self.kept) > self.size:
            self.kept.popitem(last=False)


def access_key(access: Access) -> Hashable:
    """What the row rules of this access depend on besides the data: who the actor is and what they are granted."""
    a = access.actor
    grants = getattr(access, "grants", None)
    granted = frozenset(grants.items()) if isinstance(grants, dict) else id(access)
    return (
        a.tenant_id,
        a.kind,
        a.user_id,
        a.client_id,
        a.roles,
        a.organization_id,
        a.organization_path,
        a.territory_id,
        a.territory_path,
        a.is_partner,
        granted,
    )


async def render(sessions: Sessions, access: Access, roots: tuple[Root, ...]) -> CompiledStatement:
    """Render `roots` through the door of a read unit of work of the actor."""
    async with reading(sessions, access) as uow:
        dialect = uow.session.get_bind().dialect
        try:
            return compile_plan(uow, roots, dialect)
        except DomainError as exc:  # a domain query refusing its arguments: the resolvers answer with the error
            raise NotCompiled(f"the domain refuses the arguments: {exc}") from None


async def run(sessions: Sessions, statement: CompiledStatement) -> dict[str, Any]:
    """The response data of a compiled statement: each root's JSON as PostgreSQL wrote it, not decoded again."""
    async with outside_transaction(sessions) as session:
        return await run_on(await driver_connection(session), statement)


async def run_on(driver: Any, statement: CompiledStatement) -> dict[str, Any]:
    """`run` on a bare asyncpg connection outside any transaction (a request's own)."""
    row = await driver.fetchrow(statement.sql, *statement.parameters)
    return {key: None if row[i] is None else orjson.Fragment(row[i]) for i, key in enumerate(statement.keys)}
