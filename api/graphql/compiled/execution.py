"""The executor strawberry runs: a compiled read when the planner covers the operation, the resolvers otherwise.

It runs inside strawberry's pipeline, after parsing, validation, the operation limits and the query budget, so
a compiled read is limited, priced and masked as any other. `CRM_COMPILED_READS` chooses: `on` (the default)
answers covered reads from their compiled statement; `off` always resolves; `check` (the test suite's) answers
from the resolvers and compares the compiled answer with theirs (and, when they differ, with the statement read
again after them, so that another request's write between the reads is not taken for one), logging any
difference and writing it to the file `CRM_COMPILED_READS_LOG` names, one JSON line each, so the suite fails on it
(tests/conftest.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
import strawberry
from graphql import DocumentNode, ExecutionResult, GraphQLError, OperationDefinitionNode
from strawberry.utils.await_maybe import await_maybe

from api.graphql.compiled import kept_mutations
from api.graphql.compiled.derive import register_derived
from api.graphql.compiled.planner import Planner
from api.graphql.context import Context
from api.graphql.cost import operation_cost
from api.graphql.unavailable import ServiceUnavailable
from api.resilience import mark_database_trouble
from domain.access.actor import Access
from domain.shared.base import utcnow
from infrastructure.db import database_trouble
from services.compiled_reads.plan import NotCompiled
from services.compiled_reads.render import CompiledStatement
from services.compiled_reads.run import StatementCache, access_key, render, run

log = logging.getLogger("crm.compiled_reads")

MODE = "CRM_COMPILED_READS"
LOG = "CRM_COMPILED_READS_LOG"
CACHE = StatementCache()
# The database went away or ran out of time between the two answers: nothing to compare.
OUTAGE_CODES = frozenset({"SERVICE_UNAVAILABLE", "TIMEOUT"})
# How many operations this process answered (or, checking, compared) from a compiled statement.
compiled_answers = 0
_derived = False


def mode() -> str:
    return os.environ.get(MODE, "on")


def compiled_or_resolved(schema: strawberry.Schema, execute: Callable[..., Any]) -> Callable[..., Any]:
    """An execute function for strawberry: `execute`'s signature, answering covered reads from compiled SQL."""
    global _derived
    if not _derived:
        register_derived(schema)
        _derived = True

    def executing(graphql_schema: Any, document: DocumentNode, *args: Any, **kwargs: Any) -> Any:
        context = kwargs.get("context_value")
        chosen = mode()
        if chosen == "off" or args or not isinstance(context, Context) or document.loc is None:
            return execute(graphql_schema, document, *args, **kwargs)
        if (mutation := kept_mutations.is_mutation(document, kwargs.get("operation_name"))) is not None:
            return _mutated(schema, execute, graphql_schema, document, mutation, context, kwargs)
        return _compiled(schema, execute, chosen, graphql_schema, document, context, kwargs)

    return executing


async def _mutated(
    schema: strawberry.Schema,
    execute: Callable[..., Any],
    graphql_schema: Any,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    context: Context,
    kwargs: dict[str, Any],
) -> Any:
    """A mutation, executed by the pipeline; kept (api/graphql/compiled/kept_mutations.py) once it answered without
    an error, so that the same document comes ahead of the pipeline next time."""
    result = await await_maybe(execute(graphql_schema, document, **kwargs))
    if not result.errors:
        kept_mutations.remember(CACHE, schema, document, operation, kwargs, context.access)
    return result


def _key(document: DocumentNode, kwargs: dict[str, Any], context: Context) -> Hashable | None:
    assert document.loc is not None
    return operation_key(
        document.loc.source.body, kwargs.get("operation_name"), kwargs.get("variable_values"), context.access
    )


def operation_key(query: str, operation_name: str | None, variables: Any, access: Access) -> Hashable | None:
    """What a prepared operation is kept under: the request's text, operation and variables, and who asks."""
    try:
        written = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    return (query, operation_name, written, access_key(access))


def kept(query: str, operation_name: str | None, variables: Any, access: Access) -> Prepared | None:
    """The prepared operation kept for this request, when there is one still good today; else None."""
    key = operation_key(query, operation_name, variables, access)
    found = CACHE.get(key) if key is not None else None
    if not isinstance(found, Prepared) or (found.today is not None and found.today != utcnow().date()):
        return None
    return found


@dataclass(frozen=True)
class Prepared:
    """An operation ready to answer: its compiled statement, and the document of what the resolvers answer."""

    statement: CompiledStatement
    rest: DocumentNode | None
    keys: tuple[str, ...]
    today: date | None = None  # a plan reading as of a day is kept for that day only
    cost: int | None = None  # what the operation costs (api/graphql/cost.py), as its budget charges it


async def _prepared(
    schema: strawberry.Schema, document: DocumentNode, kwargs: dict[str, Any], context: Context, chosen: str
) -> Prepared | None:
    key = _key(document, kwargs, context)
    if key is None:
        return None
    found = CACHE.get(key)
    if found is not False and (found is None or found.today is None or found.today == utcnow().date()):
        return found
    prepared: Prepared | None = None
    try:
        split = await Planner(schema, document, kwargs.get("operation_name")).plan(
            kwargs.get("variable_values"), context
        )
        statement = await render(context.sessions, context.access, split.roots)
        variables = kwargs.get("variable_values")
        cost = operation_cost(schema._schema, document, kwargs.get("operation_name"), variables)  # noqa: SLF001
        prepared = Prepared(statement, split.rest, split.keys, split.today, cost.total)
    except NotCompiled as exc:
        log.debug("the resolvers answer this operation: %s", exc)
    except Exception as exc:  # noqa: BLE001 - a fault of the compiler must never cost the caller an answer
        # Logged, not recorded as a difference: a failure the resolvers meet too (a fault a test injects, an
        # outage) is theirs to answer, and the tests of the compiled reads assert that they were compiled.
        log.warning("planning a compiled read failed (%r); the resolvers answer it", exc, exc_info=True)
    CACHE.put(key, prepared)
    if prepared is not None and _only_operation(document):
        # A request may leave out the name of its document's only operation (strawberry fills it in): it is the
        # same operation, kept under both keys so that either request finds it (api/graphql/compiled/kept.py).
        assert document.loc is not None
        unnamed = operation_key(document.loc.source.body, None, kwargs.get("variable_values"), context.access)
        CACHE.put(unnamed, prepared)
    return prepared


def _only_operation(document: DocumentNode) -> bool:
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions) == 1


async def _compiled(
    schema: strawberry.Schema,
    execute: Callable[..., Any],
    chosen: str,
    graphql_schema: Any,
    document: DocumentNode,
    context: Context,
    kwargs: dict[str, Any],
) -> Any:
    prepared = await _prepared(schema, document, kwargs, context, chosen)
    if prepared is None:
        return await await_maybe(execute(graphql_schema, document, **kwargs))
    global compiled_answers
    try:
        compiled = await run(context.sessions, prepared.statement)
    except Exception as exc:  # noqa: BLE001 - answered as a failing field is: masked, or a 503 for an outage
        return ExecutionResult(data=None, errors=[_failure(exc, context, prepared.keys[0])])
    compiled_answers += 1
    if chosen == "check":
        resolved = await await_maybe(execute(graphql_schema, document, **kwargs))
        mine = orjson.loads(orjson.dumps(compiled))
        theirs = orjson.loads(orjson.dumps({k: (resolved.data or {}).get(k) for k in compiled}))
        outage = any((e.extensions or {}).get("code") in OUTAGE_CODES for e in resolved.errors or [])
        if not outage and (resolved.data is None or mine != theirs or _errors_under(resolved.errors, compiled)):
            # The two reads are moments apart, and a write between them (another request's) changes the second's
            # answer: the statement is read again, after the resolvers, and a difference is one only when the
            # resolvers' answer matches neither read. A compiler's difference is there on every read.
            try:
                again = orjson.loads(orjson.dumps(await run(context.sessions, prepared.statement)))
            except Exception as exc:
                if database_trouble(exc) is None:
                    raise
                again = mine  # the database went away between the reads: judged on the first
            if again != theirs or resolved.data is None or _errors_under(resolved.errors, compiled):
                _record(document, kwargs, context, mine, theirs, resolved.errors)
        return resolved
    if prepared.rest is None:
        return ExecutionResult(data=compiled, errors=None)
    rest = await await_maybe(execute(graphql_schema, prepared.rest, **kwargs))
    if rest.data is None:
        return rest
    data = {k: compiled[k] if k in compiled else rest.data.get(k) for k in prepared.keys}
    return ExecutionResult(data=data, errors=rest.errors)


def _failure(exc: Exception, context: Context, key: str) -> GraphQLError:
    """A failed compiled statement, answered as a failing resolver is: SERVICE_UNAVAILABLE (and a 503) when the
    database is away or too slow (as DatabaseUnavailableErrors does for fields), else an error masking hides."""
    trouble = database_trouble(exc)
    if trouble is None:
        return GraphQLError(str(exc), path=[key], original_error=exc)
    mark_database_trouble(context.request.scope, trouble, exc)
    error = ServiceUnavailable(trouble)
    error.path = [key]
    return error


def _errors_under(errors: list[GraphQLError] | None, keys: dict[str, Any]) -> bool:
    """Whether the resolvers reported an error under a root field the compiler answered without one."""
    return any(e.path and e.path[0] in keys for e in errors or [])


def _record(
    document: DocumentNode,
    kwargs: dict[str, Any],
    context: Context,
    compiled: Any,
    expected: Any,
    errors: list[GraphQLError] | None,
) -> None:
    assert document.loc is not None
    difference = {
        "query": document.loc.source.body,
        "variables": kwargs.get("variable_values"),
        "actor": {"roles": sorted(context.actor.roles), "partner": context.actor.is_partner},
        "compiled": compiled,
        "resolved": expected,
        "errors": [e.message for e in errors or []],
    }
    log.error("a compiled read differs from the resolvers': %s", orjson.dumps(difference, default=str)[:2000])
    if path := os.environ.get(LOG):
        with open(path, "ab") as out:
            out.write(orjson.dumps(difference, default=str) + b"\n")
