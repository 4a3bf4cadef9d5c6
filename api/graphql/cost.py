"""Query cost analysis: what an operation would cost, in points, worked out from its document before it runs.

A point is roughly one object of the response, so the cost of a query grows as its result does; GitHub's and
Shopify's GraphQL APIs price queries the same way. The rules:

- A scalar or enum field costs nothing, except a connection's `totalCount` (a count statement): 1.
- An object field costs 1 plus the cost of its selection; a list of objects costs its length times that.
  Edges and page infos only wrap what they hold and cost nothing of their own.
- A connection costs 1 (its page statement) plus its page size times the cost of one edge. The page size is its
  `first` or `last` argument, else the connection's default page size (20 unless listed in DEFAULT_PAGE_SIZES).
- A list that is not a connection is as long as its `first`/`last`/`limit` argument or its `ids`, else
  LIST_SIZE: the rough size of a team, an order's lines, an organization's children.
- Every mutation field costs MUTATION_COST more (a transaction, its locks, its audit); introspection costs
  INTROSPECTION_COST whatever it selects. Fields that do more work than their result shows (aggregates) cost
  FIELD_COSTS more, once.
- Aliases are priced one by one; fragments are priced where they are spread (every inline fragment of an
  abstract type counts, so a query is never priced below what it may cost). Page sizes are clamped to what
  the API serves (0 to 100), and arguments come from the request's variables as execution will see them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.utilities import get_operation_ast

from domain.shared.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

LIST_SIZE = 10
MUTATION_COST = 10
INTROSPECTION_COST = 10
# Connections whose page, without `first` or `last`, holds other than DEFAULT_PAGE_SIZE rows.
DEFAULT_PAGE_SIZES: Mapping[str, int] = {"Query.products": 50, "Query.territories": 50}
# What fields cost beyond the objects they return, once: aggregates over every visible deal, access explanations.
FIELD_COSTS: Mapping[str, int] = {
    "Query.forecast": 50,
    "Query.funnel": 50,
    "Query.leaderboard": 50,
    "Query.quotas": 20,
    "Query.receivables": 20,
    "Query.receivablesBreakdown": 20,
    "Query.explainAccess": 10,
    "Query.registrationPrecheck": 10,
}
PAGE_ARGUMENTS = ("first", "last", "limit")


@dataclass(frozen=True)
class QueryCost:
    """The points an operation would cost: in all, and for each of its top-level fields by response key."""

    total: int
    by_field: Mapping[str, int]

    @property
    def costliest(self) -> tuple[str, int] | None:
        """The top-level field (alias or name) that costs the most, with its cost."""
        if not self.by_field:
            return None
        key = max(self.by_field, key=lambda k: self.by_field[k])
        return key, self.by_field[key]


# Costs of recently priced operations: the same document object (the parser cache's) with the same variables
# costs the same, so a front end's repeated query is priced once.
_PRICED: OrderedDict[tuple[int, str | None, bytes], tuple[DocumentNode, QueryCost]] = OrderedDict()
_PRICED_KEPT = 2048


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> QueryCost:
    """The cost of the operation of a parsed, validated document, with the request's variables."""
    try:
        key = (id(document), operation_name, orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS))
    except TypeError:
        return _operation_cost(schema, document, operation_name, variables)
    found = _PRICED.get(key)
    if found is not None and found[0] is document:
        _PRICED.move_to_end(key)
        return found[1]
    cost = _operation_cost(schema, document, operation_name, variables)
    _PRICED[key] = (document, cost)
    if len(_PRICED) > _PRICED_KEPT:
        _PRICED.popitem(last=False)
    return cost


def _operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> QueryCost:
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return QueryCost(0, {})
    root = schema.get_root_type(operation.operation)
    if root is None:
        return QueryCost(0, {})
    coerced = get_variable_values(schema, operation.variable_definitions or (), dict(variables or {}))
    pricing = _Pricing(schema, document, coerced if isinstance(coerced, VariableValues) else None)
    extra = MUTATION_COST if operation.operation is OperationType.MUTATION else 0
    by_field: dict[str, int] = {}
    for key, node, parent in pricing.top_level(root, operation.selection_set):
        by_field[key] = by_field.get(key, 0) + pricing.field(parent, node, None) + extra
    return QueryCost(sum(by_field.values()), by_field)


class _Pricing:
    """Prices the selections of one operation; each fragment is priced once per page size, however often spread."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: VariableValues | None) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.priced_fragments: dict[tuple[str, int | None], int] = {}

    def top_level(
        self, root: GraphQLObjectType, selection_set: SelectionSetNode, seen: frozenset[str] = frozenset()
    ) -> list[tuple[str, FieldNode, GraphQLNamedType]]:
        """The root's fields with their response keys, fragments opened."""
        found: list[tuple[str, FieldNode, GraphQLNamedType]] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found.append(((selection.alias or selection.name).value, selection, root))
            elif isinstance(selection, InlineFragmentNode):
                found.extend(self.top_level(root, selection.selection_set, seen))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    found.extend(self.top_level(root, fragment.selection_set, seen | {name}))
        return found

    def selections(self, parent: GraphQLNamedType, selection_set: SelectionSetNode | None, page: int | None) -> int:
        """The cost of a selection set on `parent`; `page` is the page size when `parent` is a connection."""
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(parent, selection, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                on = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(on or parent, selection.selection_set, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, page)
        return total

    def fragment(self, name: str, page: int | None) -> int:
        key = (name, page)
        if key not in self.priced_fragments:
            self.priced_fragments[key] = 0  # validation refuses cycles; this only guards the arithmetic
            definition = self.fragments.get(name)
            on = self.schema.get_type(definition.type_condition.name.value) if definition else None
            if definition is not None and on is not None:
                self.priced_fragments[key] = self.selections(on, definition.selection_set, page)
        return self.priced_fragments[key]

    def field(self, parent: GraphQLNamedType, node: FieldNode, page: int | None) -> int:
        name = node.name.value
        if name == "__typename":
            return 0
        if name in ("__schema", "__type"):
            return INTROSPECTION_COST
        if not isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)) or name not in parent.fields:
            return 0
        definition = parent.fields[name]
        coordinate = f"{parent.name}.{name}"
        named = get_named_type(definition.type)
        extra = FIELD_COSTS.get(coordinate, 0)
        if is_leaf_type(named):
            return extra + (1 if name == "totalCount" and is_connection(parent) else 0)
        arguments = self.arguments(definition, node)
        if is_connection(named):
            size = _page_size(arguments, DEFAULT_PAGE_SIZES.get(coordinate, DEFAULT_PAGE_SIZE))
            return extra + 1 + self.selections(named, node.selection_set, size)
        each = (0 if is_wrapper(named) else 1) + self.selections(named, node.selection_set, None)
        if not is_list_type(get_nullable_type(definition.type)):
            return extra + each
        if name == "edges" and page is not None:
            return extra + page * each
        if isinstance(arguments.get("ids"), list):
            return extra + min(len(arguments["ids"]), MAX_PAGE_SIZE) * each
        return extra + _page_size(arguments, LIST_SIZE) * each

    def arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
        """The field's arguments as execution will coerce them; none when they do not coerce (execution refuses)."""
        try:
            return get_argument_values(definition, node, self.variables)
        except GraphQLError:
            return {}


def _page_size(arguments: Mapping[str, Any], default: int) -> int:
    for name in PAGE_ARGUMENTS:
        value = arguments.get(name)
        if isinstance(value, int):
            return min(max(value, 0), MAX_PAGE_SIZE)
    return default


def is_connection(type_: GraphQLNamedType) -> bool:
    """A Relay connection: an object with `edges` and `pageInfo`."""
    return isinstance(type_, GraphQLObjectType) and "edges" in type_.fields and "pageInfo" in type_.fields


def is_wrapper(type_: GraphQLNamedType) -> bool:
    """An edge (a cursor and its node) or a page info: built from rows already counted, costing nothing itself."""
    if not isinstance(type_, GraphQLObjectType):
        return False
    return type_.name == "PageInfo" or ("node" in type_.fields and "cursor" in type_.fields)
