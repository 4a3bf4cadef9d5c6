"""A query document's selection as the plan of a compiled read, or NotCompiled for what the plan cannot say.

The planner walks the operation after validation, with its variables coerced as execution would coerce them.
It takes what the compiled statement renders: `node(id:)` of a compiled type, the root lists of `LISTS`,
`__typename`, fragments and aliases; and the fields `services.compiled_reads.shapes` lists. Anything else
(directives, arguments on fields it does not know, backward pages, an argument the resolver would refuse, an
internal-only field for a partner) leaves the operation to the resolvers, which answer or refuse it as always.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Collection, Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_operation_ast,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.types.arguments import convert_arguments

from api.graphql.context import Context
from api.graphql.relay import parse_global_id
from api.graphql.resolving import PLANNING, PlannedList
from domain.selling import analytics
from domain.selling.opportunities import require_internal_read
from domain.shared.base import utcnow
from domain.shared.errors import DomainError
from domain.shared.pagination import Ordering, PageRequest
from domain.shared.text import first_unstorable
from services.compiled_reads.plan import (
    ForecastRoot,
    ListRoot,
    NodeRoot,
    NotCompiled,
    Pick,
    ReceivablesRoot,
    Root,
    TypenameRoot,
)
from services.compiled_reads.shapes import MONEY_FIELDS, SHAPES, ChildConnection, ChildList, Column, MoneyOf, ToOne

log = logging.getLogger("crm.compiled_reads")
PAGE_INFO = frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"})


@dataclass(frozen=True)
class PlanningInfo:
    """The part of strawberry's Info a root list's resolver may use while it is planned."""

    context: Context
    field_name: str


def _refused(*_: Any, **__: Any) -> Any:
    raise RuntimeError("a resolver read the database while its list was planned")


class _Refused:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("a resolver used a loader while its list was planned")


@dataclass(frozen=True)
class Split:
    """An operation split at its root: fields answered by the compiled statement, the rest by the resolvers.

    `rest` is the document with only the resolvers' root fields, or None when the compiler answers them all;
    `keys` is every root response key, in the order the response lists them.
    """

    roots: tuple[Root, ...]
    rest: DocumentNode | None
    keys: tuple[str, ...]
    today: date | None = None  # the day a plan reading "as of today" is good for


class Planner:
    """Plans one operation of a validated document for one actor."""

    def __init__(self, schema: strawberry.Schema, document: DocumentNode, operation_name: str | None) -> None:
        self.schema = schema
        self.graphql: GraphQLSchema = schema._schema  # noqa: SLF001 - the graphql-core schema strawberry built
        self.document = document
        self.operation_name = operation_name
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.variables: VariableValues | None = None
        self.today: date | None = None  # set when the plan reads as of today (receivables)

    async def plan(self, variables: dict[str, Any] | None, context: Context) -> Split:
        """The root fields the compiler answers, and the document of those the resolvers answer (or None)."""
        operation = get_operation_ast(self.document, self.operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            raise NotCompiled("not a query")
        coerced = get_variable_values(self.graphql, operation.variable_definitions or (), variables or {})
        if isinstance(coerced, list):
            raise NotCompiled("variables do not coerce")
        self.variables = coerced
        self.context = context
        self.access = context.access
        query = self.graphql.query_type
        assert query is not None
        if any(not isinstance(s, FieldNode) for s in operation.selection_set.selections):
            raise NotCompiled("fragments at the root")
        roots: list[Root] = []
        resolved: list[FieldNode] = []
        keys: list[str] = []
        for key, node in self.fields(operation.selection_set, query):
            keys.append(key)
            try:
                roots.append(await self.root(key, node, query))
            except NotCompiled as exc:
                log.debug("the resolvers answer %s: %s", key, exc)
                resolved.append(node)
        if not roots:
            raise NotCompiled("no root field compiles")
        rest = None
        if resolved:
            selection = SelectionSetNode(selections=tuple(resolved))
            definitions = tuple(
                OperationDefinitionNode(
                    operation=d.operation,
                    name=d.name,
                    variable_definitions=d.variable_definitions,
                    directives=d.directives,
                    selection_set=selection,
                )
                if d is operation
                else d
                for d in self.document.definitions
            )
            rest = DocumentNode(definitions=definitions, loc=self.document.loc)
        return Split(tuple(roots), rest, tuple(keys), self.today)

    async def root(self, key: str, node: FieldNode, query: GraphQLObjectType) -> Root:
        name = node.name.value
        if name == "__typename":
            return TypenameRoot(key, query.name)
        if name.startswith("__"):
            raise NotCompiled("introspection")
        if name == "node":
            return self.node_root(key, node, query)
        if name == "forecast":
            return self.forecast_root(key, node, query)
        if name == "receivables":
            return self.receivables_root(key, node, query)
        return await self.list_root(key, node, query)

    def receivables_root(self, key: str, node: FieldNode, query: GraphQLObjectType) -> ReceivablesRoot:
        """The receivables per currency without a filter, as of today (the plan is kept for today only)."""
        if node.arguments:
            raise NotCompiled("filtered receivables")
        totals = self.object_type(query, node.name.value)
        picks = []
        for k, field in self.fields(node.selection_set, totals):
            name = field.name.value
            if name == "__typename":
                picks.append(Pick(k, name, typename=totals.name))
            elif name in ("planned", "billed", "paid", "due", "overdue"):
                picks.append(Pick(k, name, self.money(field.selection_set, self.object_type(totals, name))))
            else:
                raise NotCompiled(f"Receivables.{name}")
        self.today = utcnow().date()
        return ReceivablesRoot(key, self.today, tuple(picks))

    def forecast_root(self, key: str, node: FieldNode, query: GraphQLObjectType) -> ForecastRoot:
        """The forecast's currency and totals by category, for a period without a slice."""
        try:
            arguments = self.arguments(query, node)
            if any(arguments.get(k) is not None for k in ("territory_id", "partner_organization_id", "pipeline_id")):
                raise NotCompiled("a sliced forecast")
            start, end = arguments["period_start"], arguments["period_end"]
            currency = analytics.period_currency(start, end, arguments["currency"])
        except (DomainError, GraphQLError):
            raise NotCompiled("arguments the resolver refuses") from None
        forecast = self.object_type(query, node.name.value)
        picks = []
        for k, field in self.fields(node.selection_set, forecast):
            name = field.name.value
            if name == "__typename":
                picks.append(Pick(k, name, typename=forecast.name))
            elif name == "currency":
                picks.append(Pick(k, name))
            elif name == "byCategory":
                bucket = self.object_type(forecast, name)
                leaves = {"category", "count", "amount", "weightedAmount"}
                picks.append(Pick(k, name, self.leaves(field.selection_set, bucket, leaves)))
            else:
                raise NotCompiled(f"Forecast.{name}")
        return ForecastRoot(key, start, end, currency, tuple(picks))

    # Selections ------------------------------------------------------------------------------------------------

    def fields(self, selections: SelectionSetNode | None, parent: GraphQLObjectType) -> Iterator[tuple[str, FieldNode]]:
        """The fields selected on an object of type `parent`, by response key, fragments expanded, in order."""
        seen: set[str] = set()
        for key, node in self._collect(selections, parent):
            if key in seen:
                raise NotCompiled("a response key selected twice")
            seen.add(key)
            yield key, node

    def _collect(
        self, selections: SelectionSetNode | None, parent: GraphQLObjectType
    ) -> Iterator[tuple[str, FieldNode]]:
        if selections is None:
            raise NotCompiled("no selection")
        for selection in selections.selections:
            if selection.directives:
                raise NotCompiled("directives")
            if isinstance(selection, FieldNode):
                yield (selection.alias or selection.name).value, selection
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self.applies(condition.name.value, parent):
                    yield from self._collect(selection.selection_set, parent)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None:
                    raise NotCompiled("unknown fragment")
                if self.applies(fragment.type_condition.name.value, parent):
                    yield from self._collect(fragment.selection_set, parent)

    def applies(self, type_name: str, parent: GraphQLObjectType) -> bool:
        """Whether a fragment on `type_name` applies to an object of type `parent`."""
        if type_name == parent.name:
            return True
        condition = self.graphql.get_type(type_name)
        return condition is not None and self.graphql.is_sub_type(condition, parent)  # type: ignore[arg-type]

    def arguments(self, parent: GraphQLObjectType, node: FieldNode) -> dict[str, Any]:
        """The field's arguments as its resolver receives them (input types made, enums converted)."""
        name = node.name.value
        values = get_argument_values(parent.fields[name], node, self.variables)
        if values and first_unstorable(values) is not None:
            raise NotCompiled("text the arguments' check refuses (api/graphql/text_input.py)")
        field = self.schema.get_field_for_type(name, parent.name)
        if field is None:
            raise NotCompiled(f"{parent.name}.{name}")
        return convert_arguments(
            values,
            field.arguments,
            scalar_registry=self.schema.schema_converter.scalar_registry,
            config=self.schema.config,
        )

    def object_type(self, parent: GraphQLObjectType, name: str) -> GraphQLObjectType:
        named = get_named_type(parent.fields[name].type)
        if not isinstance(named, GraphQLObjectType):
            raise NotCompiled(f"{parent.name}.{name} is not an object")
        return named

    # Records ---------------------------------------------------------------------------------------------------

    def picks(self, selections: SelectionSetNode | None, graphql_type: GraphQLObjectType) -> tuple[Pick, ...]:
        shape = SHAPES.get(graphql_type.name)
        if shape is None:
            raise NotCompiled(graphql_type.name)
        picks = []
        for key, node in self.fields(selections, graphql_type):
            name = node.name.value
            if name == "__typename":
                picks.append(Pick(key, name, typename=graphql_type.name))
                continue
            field = shape.fields.get(name)
            if field is None:
                raise NotCompiled(f"{graphql_type.name}.{name}")
            if isinstance(field, ChildConnection):
                picks.append(self.child_connection(key, node, graphql_type))
                continue
            if node.arguments:
                raise NotCompiled(f"arguments on {graphql_type.name}.{name}")
            if isinstance(field, Column) and field.internal is not None:
                try:
                    require_internal_read(self.access, field.internal)
                except DomainError:
                    raise NotCompiled("an internal-only field for a partner") from None
            if isinstance(field, MoneyOf):
                money = self.object_type(graphql_type, name)
                picks.append(Pick(key, name, self.money(node.selection_set, money)))
            elif isinstance(field, ToOne | ChildList):
                target = self.object_type(graphql_type, name)
                picks.append(Pick(key, name, self.picks(node.selection_set, target)))
            else:
                picks.append(Pick(key, name))
        return tuple(picks)

    def child_connection(self, key: str, node: FieldNode, parent: GraphQLObjectType) -> Pick:
        """A nested connection's first page; a page after a cursor, or backward, is left to the resolvers."""
        name = node.name.value
        try:
            arguments = self.arguments(parent, node)
            page = PageRequest(
                first=arguments.get("first"),
                after=arguments.get("after"),
                last=arguments.get("last"),
                before=arguments.get("before"),
            ).validated()
        except (DomainError, GraphQLError):
            raise NotCompiled("arguments the resolver refuses") from None
        if page.after is not None or page.before is not None or page.backward:
            raise NotCompiled("a nested page after a cursor")
        connection = self.object_type(parent, name)
        node_type = self.object_type(self.object_type(connection, "edges"), "node")
        return Pick(key, name, self.connection(node, connection, node_type), page=page)

    def money(self, selections: SelectionSetNode | None, money: GraphQLObjectType) -> tuple[Pick, ...]:
        return self.leaves(selections, money, MONEY_FIELDS)

    def leaves(
        self, selections: SelectionSetNode | None, graphql_type: GraphQLObjectType, names: Collection[str]
    ) -> tuple[Pick, ...]:
        """The selected leaf fields of an object the compiler writes whole (money, page info, a bucket)."""
        picks = []
        for key, node in self.fields(selections, graphql_type):
            name = node.name.value
            if name == "__typename":
                picks.append(Pick(key, name, typename=graphql_type.name))
            elif name in names and not node.arguments:
                picks.append(Pick(key, name))
            else:
                raise NotCompiled(f"{graphql_type.name}.{name}")
        return tuple(picks)

    def node_root(self, key: str, node: FieldNode, query: GraphQLObjectType) -> NodeRoot:
        parsed = parse_global_id(str(self.arguments(query, node)["id"]))
        if parsed is None or parsed[0] not in SHAPES or getattr(SHAPES[parsed[0]].model, "__resource__", None) is None:
            raise NotCompiled("node of a type not compiled")
        type_name, record_id = parsed
        graphql_type = self.graphql.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType)
        return NodeRoot(key, type_name, record_id, self.picks(node.selection_set, graphql_type))

    # Root lists ------------------------------------------------------------------------------------------------

    async def list_root(self, key: str, node: FieldNode, query: GraphQLObjectType) -> ListRoot:
        """A root connection, planned by calling its own resolver: it hands over the list it would read."""
        name = node.name.value
        connection = self.object_type(query, name)
        if "edges" not in connection.fields or "pageInfo" not in connection.fields:
            raise NotCompiled(f"Query.{name} is not a connection")
        node_type = self.object_type(self.object_type(connection, "edges"), "node")
        if node_type.name not in SHAPES:
            raise NotCompiled(node_type.name)
        field = self.schema.get_field_for_type(name, query.name)
        resolver = field.base_resolver if field is not None else None
        if resolver is None:
            raise NotCompiled(f"Query.{name} has no resolver")
        try:
            arguments = self.arguments(query, node)
        except (DomainError, GraphQLError):
            raise NotCompiled("arguments the resolver refuses") from None
        planned = await self.planned(resolver, name, arguments)
        page, listing = planned.page, planned.listing
        try:
            page = page.validated()
            ordering = Ordering(f"{query.name}.{name}", listing.sort_column, listing.id_column, listing.direction)
            if page.after is not None:
                ordering.position(page.after, "after")
        except DomainError:
            raise NotCompiled("a page the resolver refuses") from None
        if page.backward or page.before is not None:
            raise NotCompiled("backward pages")
        picks = self.connection(node, connection, node_type)
        return ListRoot(key, node_type.name, listing.query, ordering, page, picks)

    async def planned(self, resolver: Any, name: str, arguments: dict[str, Any]) -> PlannedList:
        """What the resolver would list, called in planning mode with a context that refuses to read."""
        info = PlanningInfo(replace(self.context, sessions=_refused, loaders=_Refused()), name)  # type: ignore[arg-type]
        call: dict[str, Any] = {**arguments}
        if resolver.info_parameter is not None:
            call[resolver.info_parameter.name] = info
        bound = [None] if resolver.self_parameter is not None else []
        token = PLANNING.set(True)
        try:
            result = resolver.wrapped_func(*bound, **call)
            if inspect.isawaitable(result):
                await result
        except PlannedList as planned:
            return planned
        except Exception as exc:  # noqa: BLE001 - a resolver that refuses, reads or does more is not compiled
            raise NotCompiled(f"Query.{name}: {exc!r}") from None
        finally:
            PLANNING.reset(token)
        raise NotCompiled(f"Query.{name} does not list through list_connection")

    def connection(
        self, node: FieldNode, connection: GraphQLObjectType, node_type: GraphQLObjectType
    ) -> tuple[Pick, ...]:
        picks = []
        for key, field in self.fields(node.selection_set, connection):
            name = field.name.value
            if name == "__typename":
                picks.append(Pick(key, name, typename=connection.name))
            elif name == "totalCount":
                picks.append(Pick(key, name))
            elif name == "pageInfo":
                info = self.object_type(connection, name)
                picks.append(Pick(key, name, self.leaves(field.selection_set, info, PAGE_INFO)))
            elif name == "edges":
                edge = self.object_type(connection, name)
                items: list[Pick] = []
                for k, f in self.fields(field.selection_set, edge):
                    if f.name.value == "node":
                        items.append(Pick(k, "node", self.picks(f.selection_set, node_type)))
                    elif f.name.value == "__typename":
                        items.append(Pick(k, "__typename", typename=edge.name))
                    else:
                        items.append(Pick(k, f.name.value))
                picks.append(Pick(key, name, tuple(items)))
            else:
                raise NotCompiled(f"{connection.name}.{name}")
        return tuple(picks)
