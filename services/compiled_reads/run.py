"""Compiled statements kept per operation and actor, and run on the request's connection in one round trip.

A statement is rendered once per (document, operation, variables, actor's row-rule inputs): the row rules are
SQL, evaluated by PostgreSQL when the statement runs, so a kept statement stays right as records change; what
it depends on in Python (the actor's tenant, user, organization and territory paths, and the scopes its
roles grant) is all in its key.
"""

from __future__ import annotations

import re
import uuid
from collections import OrderedDict
from collections.abc import Hashable
from datetime import date, datetime
from typing import Any

import orjson

from domain.access.actor import Access, Actor
from domain.shared.errors import DomainError
from domain.shared.prepared import driver_connection
from services.compiled_reads.plan import NodeRoot, NotCompiled, Root
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
            compiled = compile_plan(uow, roots, dialect)
        except DomainError as exc:  # a domain query refusing its arguments: the resolvers answer with the error
            raise NotCompiled(f"the domain refuses the arguments: {exc}") from None
    # A statement that finds a record by its key (a node: a deal page) is planned alike whatever the values, and
    # PostgreSQL keeps its generic plan: it stays one statement for every actor of its shape, planned once a
    # connection, where written values would make one per actor, each planned anew for its first five runs. A
    # statement of lists only is estimated from the values (see `with_constants`): theirs are written in.
    if any(isinstance(root, NodeRoot) for root in roots):
        return compiled
    return with_constants(compiled, access.actor)


# A parameter of asyncpg's SQL ($1, $2, ...), never a prefix of a longer number.
PLACEHOLDER = re.compile(r"\$(\d+)(?!\d)")


def with_constants(statement: CompiledStatement, actor: Actor) -> CompiledStatement:
    """The statement with the actor's values and the plan's own constants written into its text.

    A kept statement is one actor's (its key holds everything its row rules depend on), and its values are fixed
    when it is rendered, so writing them into the text changes nothing it answers; it changes how PostgreSQL
    plans it. With the actor's tenant, user and organization path as parameters the partner home was planned on
    every run: the rules' selectivity depends on them (an index range only for a known `path LIKE` prefix, the
    tenant's own row counts), so PostgreSQL rightly kept custom plans, its generic plan costed at two to five
    times theirs (a `LIMIT $n` is costed as a tenth of the rows), and planning took 1.0 / 2.3 / 2.4 ms of each
    request for the admin, a distributor and a dealer at 100k opportunities, up to a third of its execution. With
    them written, the generic plan is the custom one, and PostgreSQL plans the statement once per connection
    and keeps the plan (invalidated, as any kept plan, when a table's statistics or definition change).

    Written: the actor's own values (tenant, user, client, organization, territory and their paths), integers
    and booleans (page sizes, the renderer's numbers), dates (an as-of day) and codes (an enum's values: letters,
    digits and `_`, cast to a type other than text). Kept as parameters: any other value of the request's (a
    record's id, an instant, an amount, text such as a search), so that one statement, prepared once, serves
    every such value. The price is a prepared statement per actor and connection (asyncpg keeps the most recent
    hundred on each), each with PostgreSQL's five custom plans before it settles: `render` pays it only for a
    statement of lists, which was planned on every run before. A value is written only in a form that cannot
    end its literal, and every parameter is cast in the SQL, so a written value has the type its parameter had.
    """
    own = {
        value
        for value in (
            actor.tenant_id,
            actor.user_id,
            actor.client_id,
            actor.organization_id,
            actor.organization_path,
            actor.territory_id,
            actor.territory_path,
        )
        if value is not None
    }
    # The paths as the rules match below them, `startswith(path, autoescape=True)`: "/" escapes "/", "%" and "_".
    own |= {_like_escaped(path) for path in (actor.organization_path, actor.territory_path) if path is not None}
    casts = {int(m[1]): m[2].upper() for m in CAST.finditer(statement.sql)}
    written = [_constant(value, own, casts.get(i)) for i, value in enumerate(statement.parameters, start=1)]
    if all(text is None for text in written):
        return statement
    kept: list[Any] = []
    renumbered: dict[int, str] = {}
    for position, (value, text) in enumerate(zip(statement.parameters, written, strict=True), start=1):
        if text is None:
            kept.append(value)
            renumbered[position] = f"${len(kept)}"
    pieces = statement.sql.split("'")
    if len(pieces) % 2 == 0:
        return statement  # a quote left open: not a text to write values into

    def value_of(placeholder: re.Match[str]) -> str:
        position = int(placeholder[1])
        if not 1 <= position <= len(written):
            raise KeyError(position)
        return written[position - 1] or renumbered[position]

    try:
        # Placeholders outside the string literals only (every other piece is inside one).
        pieces[::2] = [PLACEHOLDER.sub(value_of, piece) for piece in pieces[::2]]
    except (IndexError, KeyError):
        return statement  # a placeholder with no parameter: left as rendered
    return CompiledStatement("'".join(pieces), tuple(kept), statement.keys)


# A code: an enum's value.
CODE = re.compile(r"[A-Za-z0-9_]{1,64}")
# A parameter's cast, as the dialect writes one after each: `$3::VARCHAR`, `$4::lead_status`.
CAST = re.compile(r"\$(\d+)::([A-Za-z_]+)")
# Casts of text a request may bring (a search, a name): it stays a parameter, or each value would be a statement.
TEXT_TYPES = frozenset({"VARCHAR", "TEXT", "CHAR", "CITEXT"})
# What a written string may hold: no quote or backslash can end or escape its literal.
PLAIN = re.compile(r"[A-Za-z0-9_/.:@-]*")


def _like_escaped(path: str) -> str:
    return path.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _constant(value: Any, own: set[Any], cast: str | None) -> str | None:
    """The SQL constant of a parameter's value (in the driver's form) when it is written, else None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if value >= 0 else f"({value})"
    if isinstance(value, date) and not isinstance(value, datetime):
        return f"'{value.isoformat()}'"
    if isinstance(value, uuid.UUID) and value in own:
        return f"'{value}'"
    if isinstance(value, str) and PLAIN.fullmatch(value):
        if value in own or (cast is not None and cast not in TEXT_TYPES and CODE.fullmatch(value)):
            return f"'{value}'"
    return None


async def run(sessions: Sessions, statement: CompiledStatement) -> dict[str, Any]:
    """The response data of a compiled statement: each root's JSON as PostgreSQL wrote it, not decoded again."""
    async with outside_transaction(sessions) as session:
        return await run_on(await driver_connection(session), statement)


async def run_on(driver: Any, statement: CompiledStatement) -> dict[str, Any]:
    """`run` on a bare asyncpg connection outside any transaction (a request's own)."""
    row = await driver.fetchrow(statement.sql, *statement.parameters)
    return {key: None if row[i] is None else orjson.Fragment(row[i]) for i, key in enumerate(statement.keys)}
