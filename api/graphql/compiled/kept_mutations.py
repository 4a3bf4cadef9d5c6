"""Kept mutations: a mutation sent before, answered ahead of strawberry's pipeline with the same payload.

A mutation's text is the same from one request to the next; what changes is its variables. Once the pipeline
has answered a document without an error, nothing in its parsing, validation, limits (depth, aliases, tokens)
or price depends on anything but the text, so a later request of the same document by the same actor needs the
pipeline only for what its variables change: their coercion (graphql-core's, the values written in the document
coerced once: arguments.py `PlannedValues`), the text checks the pipeline makes on them (`MaxTextLength`,
`StorableTextArguments`: the written values were checked when the document was kept), the arguments as
strawberry converts them (its conversion planned once per document: arguments.py), and the resolver's work.
`api/graphql/compiled/kept.py` charges the budget and then calls `run`; for a session seen before, a form that
offers it (`SignedKeptRun`, logActivity's) sends the sign-in check, the charge and its change as one statement,
the change written only for the person as the plan took them to be and a budget that pays.

What may be kept is narrow on purpose:
- a root field whose resolver registered a kept form (`kept_mutation`): the same command and checks as the
  resolver, and the one statement it sends; the form answers None, before anything is sent, for a request the
  resolver would take another way (an idempotency key, for one);
- one such field per operation, with no directive, and no `first`, `last`, `limit` or `ids` argument (the only
  arguments a price depends on);
- a payload whose every selected field is answered by the value the resolver returned or by one of the simple
  shapes the compiled reads use (services/compiled_reads/shapes.py: a column, money, a visible to-one record),
  with no arguments, directives or abstract types; fragments on the field's own type are read in place.

A to-one record comes from what the statement read back through that record's own row rule (the form hands
them over), else from the loaders, as its resolver would read it. Anything else leaves the document to the
pipeline, which answers as it always did.
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    located_error,
)
from graphql.utilities import get_operation_ast

from api.graphql.compiled.arguments import NotPlanned, PlannedValues, planned_arguments
from api.graphql.cost import operation_cost
from api.graphql.errors import is_expected
from api.graphql.limits import long_texts, long_variable_texts, masked
from domain.access.actor import Access
from domain.access.principals import LoadedActor
from domain.access.usage_budgets import Budget, Charge
from domain.shared.text import first_unstorable
from infrastructure.db import database_trouble
from services.compiled_reads.run import StatementCache, access_key
from services.compiled_reads.shapes import SHAPES, Column, MoneyOf, ToOne

log = logging.getLogger("crm.compiled_reads")

# What a kept form runs once the budget is charged: on the request's asyncpg connection, the resolver's payload
# and the records its statement read back, by (GraphQL type name, id); None for a record its rule hides.
KeptRun = Callable[[Any], Awaitable[tuple[Any, Mapping[tuple[str, Any], Any]]]]
# A kept form: the field's arguments as strawberry converts them, the caller's access and what its row rules
# depend on (`compiled_reads.run.access_key`, worked out once per request); None leaves the request to the
# pipeline (nothing is sent first).
KeptForm = Callable[[dict[str, Any], Access, Hashable], KeptRun | None]
FORMS: dict[str, KeptForm] = {}


@dataclass(frozen=True)
class SignedOutcome:
    """What a kept change sent with the sign-in check and the charge found: who is signed in, the charge, and the
    payload and records when the change was made (None: the person is not as planned, or a budget refused)."""

    loaded: LoadedActor
    charge: Charge
    answer: tuple[Any, Mapping[tuple[str, Any], Any]] | None


# A kept form's change with the sign-in check and the charge in the same statement, for a session seen before: on
# the request's connection, given the session, the budgets, the cost and the policy version the request planned
# with. None when no one is signed in (nothing charged or written).
SignedRun = Callable[[Any, uuid.UUID | None, Sequence[Budget], int, int], Awaitable[SignedOutcome | None]]


@dataclass(frozen=True)
class SignedKeptRun:
    """A kept form's run that can also be sent with the sign-in check and the charge (`signed`)."""

    run: KeptRun
    signed: SignedRun

    async def __call__(self, driver: Any) -> tuple[Any, Mapping[tuple[str, Any], Any]]:
        return await self.run(driver)


# The arguments an operation's price depends on (api/graphql/cost.py).
PRICED_ARGUMENTS = frozenset({"first", "last", "limit", "ids"})
# How many requests this process answered from a kept mutation.
kept_answers = 0
# The texts of the documents kept lately, by anyone: a request of another text is no kept mutation's, which the
# caller knows without working out the request's cache key (`known`). As many as the statement cache keeps.
_TEXTS: OrderedDict[str, None] = OrderedDict()


def kept_mutation(field_name: str) -> Callable[[KeptForm], KeptForm]:
    """Register `form` as the kept form of the mutation field `field_name` (its GraphQL name)."""

    def registering(form: KeptForm) -> KeptForm:
        FORMS[field_name] = form
        return form

    return registering


class NotKept(Exception):
    """A document, or a part of it, the pipeline must answer."""


@dataclass(frozen=True)
class Selected:
    """How one selected field is answered from its parent's value, and how the value is written."""

    key: str  # the response key (alias or name)
    kind: str  # "typename", "attribute" (the value's own attribute), "column", "money" or "to_one" (of its row)
    name: str  # the attribute read; the type name for "typename"
    nullable: bool = True
    listed: bool = False
    item_nullable: bool = True
    leaf: GraphQLScalarType | GraphQLEnumType | None = None
    children: tuple[Selected, ...] = ()
    currency: str = ""  # "money": the row's currency attribute
    target: str = ""  # "to_one": the record's GraphQL type
    origin: Any = None  # "to_one": the strawberry type whose `from_row` makes the record's value
    nodes: tuple[FieldNode, ...] = ()  # where the document selects it, for an error's locations
    # Whether writing it may wait on the loaders (a to-one record here or below): the rest is written without
    # a coroutine per field.
    awaits: bool = False


@dataclass(frozen=True)
class KeptMutation:
    """A mutation document ready to answer ahead of the pipeline."""

    form: KeptForm
    document: DocumentNode
    values: PlannedValues  # graphql-core's coercion of the variables and the field's arguments, planned
    arguments: Callable[[dict[str, Any]], dict[str, Any]]  # strawberry's conversion, planned (arguments.py)
    payload: Selected
    cost: int


@dataclass(frozen=True)
class Call:
    """One request of a kept mutation: its run, once the budget is charged, and how its payload is written."""

    mutation: KeptMutation
    run: KeptRun

    @property
    def key(self) -> str:
        return self.mutation.payload.key

    @property
    def cost(self) -> int:
        return self.mutation.cost


def _cache_key(query: str, operation_name: str | None, rules_key: Hashable) -> Hashable:
    return ("mutation", query, operation_name, rules_key)


def remember(
    cache: StatementCache,
    schema: strawberry.Schema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    kwargs: dict[str, Any],
    access: Access,
) -> None:
    """Keep a mutation document the pipeline has just answered without an error, when it may be kept."""
    assert document.loc is not None
    query, operation_name = document.loc.source.body, kwargs.get("operation_name")
    rules_key = access_key(access)
    key = _cache_key(query, operation_name, rules_key)
    if cache.get(key) is not False:
        return
    kept: KeptMutation | None = None
    try:
        kept = _planned(schema, document, operation, kwargs)
    except NotKept as exc:
        log.debug("the pipeline answers this mutation: %s", exc)
    except Exception as exc:  # noqa: BLE001 - a fault of the planner must never cost the caller an answer
        log.warning("planning a kept mutation failed (%r); the pipeline answers it", exc, exc_info=True)
    cache.put(key, kept)
    if kept is not None:
        _TEXTS[query] = None
        _TEXTS.move_to_end(query)
        if len(_TEXTS) > cache.size:
            _TEXTS.popitem(last=False)
    if kept is not None and operation_name is not None:
        if sum(isinstance(d, OperationDefinitionNode) for d in document.definitions) == 1:
            cache.put(_cache_key(query, None, rules_key), kept)  # the only operation may be sent without its name


def known(query: str) -> bool:
    """Whether a mutation of this text may have been kept (for someone): else `call` has nothing for it."""
    return query in _TEXTS


def call(
    cache: StatementCache,
    query: str,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    access: Access,
) -> Call | None:
    """The kept mutation for this request, its variables coerced and checked as the pipeline does, or None."""
    rules_key = access_key(access)
    kept = cache.get(_cache_key(query, operation_name, rules_key))
    if not isinstance(kept, KeptMutation):
        return None
    values = kept.values
    try:
        coerced = values.variable_values(variables or {})
        if coerced is None or next(long_variable_texts(variables), None) is not None:
            return None  # the pipeline names the variable at fault
        raw = values.argument_values(coerced)
    except (GraphQLError, RecursionError):  # as graphql-core's own `get_variable_values` reports them
        return None
    if raw is None:
        return None
    # The written values' text was checked when the document was planned; what a request brings is its variables.
    if first_unstorable(coerced.coerced if values.variables_only else raw) is not None:
        return None
    try:
        arguments = kept.arguments(raw)
    except Exception:  # noqa: BLE001 - an argument strawberry cannot convert is the pipeline's to report
        return None
    run = kept.form(arguments, access, rules_key)
    return None if run is None else Call(kept, run)


async def payload(
    call: Call, value: Any, records: Mapping[tuple[str, Any], Any], loaded: Loader, request_id: str | None
) -> dict[str, Any]:
    """The response body of a kept mutation: its payload written as the pipeline writes it.

    The change is made by then, so a field that fails to be written (a record read through the loaders fails, a
    value is null where the schema says it never is) is answered as GraphQL's execution answers it: an error at
    the field's path, masked as the pipeline masks it, and null in place of the nearest field on that path that
    may be null. The rest of the payload is still written."""
    writer = _Writer(records, loaded, request_id)
    root = call.mutation.payload
    try:
        data: dict[str, Any] | None = {root.key: await writer.completed(root, value, (root.key,))}
    except _Failed:
        data = {root.key: None} if root.nullable else None
    if not writer.errors:
        return {"data": data}
    return {"data": data, "errors": writer.errors}


# Reads a record of a GraphQL type by id through the caller's loaders: the record, or None when not visible.
Loader = Callable[[str, Any], Awaitable[Any]]
_UNREAD = object()
Path = tuple[str | int, ...]


class _Failed(Exception):
    """A field that could not be written, its error recorded: null goes in place of the nearest nullable field."""


class _Writer:
    def __init__(self, records: Mapping[tuple[str, Any], Any], loaded: Loader, request_id: str | None) -> None:
        self.records, self.loaded, self.request_id = records, loaded, request_id
        self.errors: list[dict[str, Any]] = []

    def fail(self, selected: Selected, path: Path, exc: Exception) -> _Failed:
        """Record the failure of the field at `path` as the pipeline shows it: located by graphql-core's own
        `located_error`, then shown as it is when expected, else masked with its log line (`MaskUnexpectedErrors`)."""
        error = located_error(exc, list(selected.nodes) or None, list(path))
        if not is_expected(error):
            error = masked(error, self.request_id)
        self.errors.append(dict(error.formatted))
        return _Failed()

    async def written(self, selected: Selected, source: Any, path: Path) -> Any:
        """The field `selected` of `source`, written; None in place of a failure at or below it, if it may be."""
        if not selected.awaits:
            return self.written_now(selected, source, path)
        try:
            try:
                value = await self.field(selected, source)
            except Exception as exc:
                if database_trouble(exc) is not None:
                    raise  # the request guard answers 503, as for the pipeline's own fields
                raise self.fail(selected, path, exc) from exc
            return await self.completed(selected, value, path)
        except _Failed:
            if selected.nullable:
                return None
            raise

    async def completed(self, selected: Selected, value: Any, path: Path) -> Any:
        if not selected.awaits:
            return self.completed_now(selected, value, path)
        if value is None:
            if not selected.nullable:
                raise self.fail(selected, path, ValueError(f"{selected.key} is null, which the schema forbids"))
            return None
        if not selected.listed:
            return await self.item(selected, value, path)
        written: list[Any] = []
        for index, item in enumerate(value):
            at = (*path, index)
            if item is None:
                if not selected.item_nullable:
                    raise self.fail(selected, at, ValueError(f"an item of {selected.key} is null"))
                written.append(None)
                continue
            try:
                written.append(await self.item(selected, item, at))
            except _Failed:
                if not selected.item_nullable:
                    raise
                written.append(None)
        return written

    async def item(self, selected: Selected, value: Any, path: Path) -> Any:
        """An object that may wait on the loaders below it (a leaf never does: `item_now`)."""
        written: dict[str, Any] = {}
        for child in selected.children:
            if child.kind == "typename":
                written[child.key] = child.name
            elif child.awaits:
                written[child.key] = await self.written(child, value, (*path, child.key))
            else:
                written[child.key] = self.written_now(child, value, (*path, child.key))
        return written

    async def field(self, selected: Selected, source: Any) -> Any:
        if selected.kind != "to_one":
            return self.field_now(selected, source)
        record_id = getattr(source.row, selected.name)
        if record_id is None:
            return None
        record = self.records.get((selected.target, record_id), _UNREAD)
        if record is _UNREAD:
            record = await self.loaded(selected.target, record_id)
        return None if record is None else selected.origin.from_row(record)

    # The same, for a field that waits on nothing: written in place, without a coroutine per field.

    def written_now(self, selected: Selected, source: Any, path: Path) -> Any:
        try:
            try:
                value = self.field_now(selected, source)
            except Exception as exc:
                if database_trouble(exc) is not None:
                    raise
                raise self.fail(selected, path, exc) from exc
            return self.completed_now(selected, value, path)
        except _Failed:
            if selected.nullable:
                return None
            raise

    def completed_now(self, selected: Selected, value: Any, path: Path) -> Any:
        if value is None:
            if not selected.nullable:
                raise self.fail(selected, path, ValueError(f"{selected.key} is null, which the schema forbids"))
            return None
        if not selected.listed:
            return self.item_now(selected, value, path)
        written: list[Any] = []
        for index, item in enumerate(value):
            if item is None:
                if not selected.item_nullable:
                    raise self.fail(selected, (*path, index), ValueError(f"an item of {selected.key} is null"))
                written.append(None)
                continue
            try:
                written.append(self.item_now(selected, item, (*path, index)))
            except _Failed:
                if not selected.item_nullable:
                    raise
                written.append(None)
        return written

    def item_now(self, selected: Selected, value: Any, path: Path) -> Any:
        leaf = selected.leaf
        if leaf is not None:
            try:
                coerced = leaf.coerce_output_value(value)  # graphql-core's `complete_leaf_value`
                if coerced is None or coerced is Undefined:
                    raise TypeError(f"{leaf.name} cannot represent {value!r}")
            except Exception as exc:
                raise self.fail(selected, path, exc) from exc
            return coerced
        written: dict[str, Any] = {}
        for child in selected.children:
            if child.kind == "typename":
                written[child.key] = child.name
            else:
                written[child.key] = self.written_now(child, value, (*path, child.key))
        return written

    @staticmethod
    def field_now(selected: Selected, source: Any) -> Any:
        kind = selected.kind
        if kind == "attribute":
            return getattr(source, selected.name)
        row = source.row
        if kind == "column":
            return getattr(row, selected.name)
        amount = getattr(row, selected.name)  # "money"
        return None if amount is None else SimpleNamespace(amount=amount, currency=getattr(row, selected.currency))


def _planned(
    schema: strawberry.Schema, document: DocumentNode, operation: OperationDefinitionNode, kwargs: dict[str, Any]
) -> KeptMutation:
    graphql_schema = schema._schema  # noqa: SLF001
    mutation_type = graphql_schema.mutation_type
    selections = operation.selection_set.selections
    if mutation_type is None or operation.directives or len(selections) != 1:
        raise NotKept("not one root field")
    (node,) = selections
    if not isinstance(node, FieldNode) or node.directives or node.name.value not in FORMS:
        raise NotKept("no kept form for the root field")
    if {argument.name.value for argument in node.arguments or ()} & PRICED_ARGUMENTS:
        raise NotKept("its price depends on the variables")
    definition = schema.get_type_by_name(mutation_type.name)
    strawberry_field = _strawberry_field(schema, definition, node.name.value)
    if strawberry_field.extensions or strawberry_field.permission_classes:
        raise NotKept("the root field has extensions of its own")
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    planner = _Planner(schema, fragments)
    field_definition = mutation_type.fields[node.name.value]
    payload = planner.selected(node, "attribute", strawberry_field.python_name, field_definition.type, root=True)
    cost = operation_cost(graphql_schema, document, kwargs.get("operation_name"), kwargs.get("variable_values"))
    try:
        values = PlannedValues(graphql_schema, operation.variable_definitions or (), field_definition, node)
    except NotPlanned as exc:
        raise NotKept(str(exc)) from exc
    if first_unstorable(values.constants) is not None or next(long_texts(document, None), None) is not None:
        raise NotKept("the document's own text is refused")
    return KeptMutation(
        form=FORMS[node.name.value],
        document=document,
        values=values,
        arguments=planned_arguments(strawberry_field.arguments, schema.schema_converter.scalar_registry, schema.config),
        payload=payload,
        cost=max(1, cost.total),
    )


def _strawberry_field(schema: strawberry.Schema, definition: Any, graphql_name: str) -> Any:
    converter = schema.config.name_converter
    for candidate in getattr(definition, "fields", ()):
        if converter.get_graphql_name(candidate) == graphql_name:
            return candidate
    raise NotKept(f"no field {graphql_name}")


class _Planner:
    def __init__(self, schema: strawberry.Schema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema, self.fragments = schema, fragments

    def selected(
        self, node: FieldNode, kind: str, name: str, output: Any, *, root: bool = False, **more: Any
    ) -> Selected:
        """How `node` is written, once `kind` and `name` say where its value comes from (the root field's arguments
        are its form's)."""
        if (node.arguments and not root) or node.directives:
            raise NotKept(f"{node.name.value} has arguments or directives")
        nullable, listed, item_nullable = True, False, True
        if isinstance(output, GraphQLNonNull):
            nullable, output = False, output.of_type
        if isinstance(output, GraphQLList):
            listed, output = True, output.of_type
            if isinstance(output, GraphQLNonNull):
                item_nullable, output = False, output.of_type
        if isinstance(output, GraphQLScalarType | GraphQLEnumType):
            if node.selection_set is not None:
                raise NotKept("a selection under a leaf")
            return Selected(
                node_key(node),
                kind,
                name,
                nullable,
                listed,
                item_nullable,
                leaf=output,
                nodes=(node,),
                awaits=kind == "to_one",
                **more,
            )
        if not isinstance(output, GraphQLObjectType) or node.selection_set is None:
            raise NotKept(f"{node.name.value} is of an abstract or unknown type")
        children = self.children(output, node.selection_set)
        return Selected(
            node_key(node),
            kind,
            name,
            nullable,
            listed,
            item_nullable,
            children=children,
            nodes=(node,),
            awaits=kind == "to_one" or any(child.awaits for child in children),
            **more,
        )

    def children(self, parent: GraphQLObjectType, selection_set: SelectionSetNode) -> tuple[Selected, ...]:
        written: dict[str, tuple[FieldNode, Selected]] = {}
        for node in self.fields(parent, selection_set):
            key = node_key(node)
            if key in written:
                first, _ = written[key]
                if first.name.value != node.name.value or first.selection_set or node.selection_set:
                    raise NotKept(f"{key} is selected twice")
                merged = written[key][1]
                written[key] = (first, replace(merged, nodes=(*merged.nodes, node)))  # one field, both places
                continue
            written[key] = (node, self.child(parent, node))
        return tuple(selected for _, selected in written.values())

    def fields(self, parent: GraphQLObjectType, selection_set: SelectionSetNode) -> list[FieldNode]:
        """The fields of a selection, fragments on `parent` itself read in place, in the document's order."""
        found: list[FieldNode] = []
        for selection in selection_set.selections:
            if selection.directives:
                raise NotKept("a directive")
            if isinstance(selection, FieldNode):
                found.append(selection)
                continue
            if isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None or fragment.directives or fragment.type_condition.name.value != parent.name:
                    raise NotKept("a fragment on another type")
                found.extend(self.fields(parent, fragment.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is not None and condition.name.value != parent.name:
                    raise NotKept("a fragment on another type")
                found.extend(self.fields(parent, selection.selection_set))
        return found

    def child(self, parent: GraphQLObjectType, node: FieldNode) -> Selected:
        name = node.name.value
        if name == "__typename":
            if node.arguments or node.directives:
                raise NotKept("__typename with arguments")
            return Selected(node_key(node), "typename", parent.name, nodes=(node,))
        definition = parent.fields.get(name)
        if definition is None:
            raise NotKept(f"no field {parent.name}.{name}")
        strawberry_field = _strawberry_field(self.schema, self.schema.get_type_by_name(parent.name), name)
        if strawberry_field.extensions or strawberry_field.permission_classes:
            raise NotKept(f"{parent.name}.{name} has extensions of its own")
        if strawberry_field.base_resolver is None:
            return self.selected(node, "attribute", strawberry_field.python_name, definition.type)
        shape = SHAPES.get(parent.name)
        if shape is None:
            raise NotKept(f"{parent.name}.{name} has a resolver of its own")
        found = shape.fields.get(name)
        if isinstance(found, Column) and found.internal is None:
            return self.selected(node, "column", _attribute(shape.model, found.column), definition.type)
        if isinstance(found, MoneyOf):
            model = shape.model
            currency = _attribute(model, found.currency)
            return self.selected(node, "money", _attribute(model, found.amount), definition.type, currency=currency)
        if isinstance(found, ToOne):
            origin = getattr(self.schema.get_type_by_name(found.type_name), "origin", None)
            if origin is None or not hasattr(origin, "from_row"):
                raise NotKept(f"{found.type_name} is not a record type")
            return self.selected(
                node,
                "to_one",
                _attribute(shape.model, found.column),
                definition.type,
                target=found.type_name,
                origin=origin,
            )
        raise NotKept(f"{parent.name}.{name} has a resolver of its own")


def node_key(node: FieldNode) -> str:
    return node.alias.value if node.alias is not None else node.name.value


def _attribute(model: Any, column: str) -> str:
    """The mapped attribute of `model` holding the column named `column`."""
    for attribute in model.__mapper__.column_attrs:
        if len(attribute.columns) == 1 and attribute.columns[0].name == column:
            return str(attribute.key)
    raise NotKept(f"no attribute for {model.__name__}.{column}")


def is_mutation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation the request runs, when it is a mutation."""
    operation = get_operation_ast(document, operation_name)
    return operation if operation is not None and operation.operation is OperationType.MUTATION else None
