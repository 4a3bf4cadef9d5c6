"""Strawberry's argument conversion and graphql-core's coercion, planned once per argument instead of worked out on
every request.

A kept mutation (`api/graphql/compiled/kept_mutations.py`) builds its resolver's arguments as the pipeline does,
from graphql-core's coerced values to strawberry's input classes. Strawberry's `convert_arguments` decides what
each value is from its type on every call: about 0.19 ms for logActivity's input, 7 % of the whole request. The
plan here makes the same decisions once, from the same types, and keeps only the work that depends on the value:
an input class is built from its fields' values, its fields without a default set to None first (strawberry's
implicit default), a list of leaves is copied (graphql-core hands the same default list to every request), a
leaf (scalar, enum) is the value itself.

Whatever is rarer is converted by strawberry itself, so it cannot differ: `Maybe`, a `GlobalID`, an input with
its own `from_input`, a list of inputs.

Before that conversion, graphql-core coerces the request's variables and the field's arguments from the document
(`get_variable_values`, `get_argument_values`); `PlannedValues` does the part that depends on the document alone
once (the values written in it), and per request only what the variables change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    Undefined,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    is_input_object_type,
    is_non_null_type,
    is_required_argument,
    is_required_input_field,
)
from graphql.execution.get_variable_signature import GraphQLVariableSignature, get_variable_signature
from graphql.execution.values import (
    VariableValues,
    VariableValueSource,
    get_variable_values,
    input_is_nested_too_deeply,
)
from graphql.utilities.coerce_input_value import coerce_default_value, coerce_input_literal, coerce_input_value
from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import StrawberryArgument, convert_argument
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional, has_object_definition
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET

Convert = Callable[[Any], Any]
Registry = Mapping[object, Any]


def planned_arguments(
    arguments: Sequence[StrawberryArgument], scalar_registry: Registry, config: StrawberryConfig
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """What `convert_arguments(value, arguments, scalar_registry, config)` answers, as a function of `value`."""
    plans: list[tuple[str, str, Convert]] = []
    for argument in arguments:
        assert argument.python_name
        name = config.name_converter.from_argument(argument)
        plans.append((name, argument.python_name, _plan(argument.type, scalar_registry, config, (name,))))

    def converted(value: dict[str, Any]) -> dict[str, Any]:
        return {python: plan(value[name]) for name, python, plan in plans if name in value}

    return converted


def _identity(value: Any) -> Any:
    return value


def _is_leaf(type_: Any, scalar_registry: Registry) -> bool:
    if isinstance(type_, LazyType):
        return _is_leaf(type_.resolve_type(), scalar_registry)
    return bool(is_scalar(type_, scalar_registry)) or isinstance(type_, StrawberryEnumDefinition)


def _plan(type_: Any, scalar_registry: Registry, config: StrawberryConfig, path: tuple[str | int, ...]) -> Convert:
    def by_strawberry(value: Any) -> Any:
        return convert_argument(value, type_, scalar_registry, config, None, path=path)

    if isinstance(type_, StrawberryMaybe) or type_ is GlobalID:
        return by_strawberry
    if isinstance(type_, StrawberryOptional):
        return _plan(type_.of_type, scalar_registry, config, path)  # None and UNSET are answered below alike
    if isinstance(type_, StrawberryList):
        item = type_.of_type
        if isinstance(item, StrawberryOptional):
            item = item.of_type
        if item is GlobalID or not _is_leaf(item, scalar_registry):
            return by_strawberry
        return _copied_list
    if isinstance(type_, LazyType):
        return _plan(type_.resolve_type(), scalar_registry, config, path)
    if _is_leaf(type_, scalar_registry) or has_enum_definition(type_):
        return _identity  # a leaf's value, None and UNSET are answered as they are
    if not has_object_definition(type_):
        return by_strawberry
    definition = type_.__strawberry_definition__
    if definition.from_input is not None:
        return by_strawberry
    defaults: dict[str, Any] = {}
    if definition.is_input:
        defaults = {
            field.python_name: None
            for field in definition.fields
            if field.default_value is MISSING and field.default_factory is MISSING
        }
    fields = []
    for field in definition.fields:
        graphql_name = config.name_converter.from_field(field)
        field_type = field.resolve_type(type_definition=definition)
        plan = _plan(field_type, scalar_registry, config, (*path, graphql_name))
        fields.append((graphql_name, field.python_name, plan))
    built = type_

    def instance(value: Any) -> Any:
        if value is None or value is UNSET:
            return value
        kwargs = dict(defaults)
        for graphql_name, python_name, plan in fields:
            if graphql_name in value:
                kwargs[python_name] = plan(value[graphql_name])
        return built(**kwargs)

    return instance


def _copied_list(value: Any) -> Any:
    return value if value is None or value is UNSET else list(value)


# --- graphql-core's coercion, planned --------------------------------------------------------------------------

# One step of a planned coercion: the value given the request's coerced variables, or Undefined where graphql-core
# finds it invalid (its `get_argument_values` then raises, and the pipeline names the fault).
Coercion = Callable[[VariableValues], Any]


class NotPlanned(Exception):
    """A field's arguments whose coercion is left to graphql-core on every request, or to the pipeline."""


class PlannedValues:
    """What graphql-core's `get_variable_values` and then `get_argument_values` answer for one field of one
    document, as a function of the request's variables, with the work that depends on nothing else done once.

    The arguments written in the document are coerced once (`coerce_input_literal` on an input of ten fields is
    most of the 0.1 ms graphql-core spends on a call); per request only what the variables change is looked up,
    by the rules graphql-core follows for each place a variable may stand (a missing variable gives the field's
    or the argument's default, a null one is refused where the type is non-null). A written value is copied for
    each request (lists and objects), as graphql-core makes a new one each time; a default is handed out as
    graphql-core hands it, the one it memoised. Whatever is rarer (a variable with a default of its own, a list
    written with variables in it, a `@oneOf` input, a scalar literal holding a variable) is coerced by
    graphql-core itself, so it cannot differ.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        definitions: Sequence[VariableDefinitionNode] | None,
        field: GraphQLField,
        node: FieldNode,
    ) -> None:
        self.schema, self.definitions = schema, tuple(definitions or ())
        self._signatures: list[tuple[str, GraphQLVariableSignature, Any, bool]] | None = []
        for definition in self.definitions:
            signature = get_variable_signature(schema, definition)
            if isinstance(signature, GraphQLError):
                raise NotPlanned(signature.message)
            if definition.default_value is not None:
                self._signatures = None  # graphql-core coerces the variables, defaults and all
                break
            self._signatures.append((signature.name, signature, signature.type, is_non_null_type(signature.type)))
        self._planner = _Coercions()
        self._arguments: list[tuple[str, Coercion]] = []
        written = {argument.name.value: argument for argument in node.arguments or ()}
        for name, argument in field.args.items():
            out_name = argument.out_name or name
            found = written.get(name)
            if found is None:
                if is_required_argument(argument):
                    raise NotPlanned(f"argument {name} is missing")
                default = _default_of(argument)
                if default is not Undefined:
                    self._arguments.append((out_name, self._planner.constant(default, fresh=False)))
            elif isinstance(found.value, VariableNode):
                required = is_required_argument(argument)
                default = Undefined if required else _default_of(argument)
                coercion = self._planner.variable(found.value, argument.type, default, required=required)
                self._arguments.append((out_name, coercion))
            else:
                self._arguments.append((out_name, self._planner.literal(found.value, argument.type)))
        # The values written in the document, which no request changes: their text was checked when the pipeline
        # answered the document, and is checked again here, where a request cannot change it.
        self.constants = self._planner.constants
        # Whether every argument's value is a written one, a default or a variable's own value: then the text of
        # the arguments a request brings is that of its coerced variables.
        self.variables_only = not self._planner.generic

    def variable_values(self, inputs: dict[str, Any]) -> VariableValues | None:
        """`get_variable_values(schema, definitions, inputs, max_errors=1)`, None where it answers errors."""
        if self._signatures is None:
            found = get_variable_values(self.schema, self.definitions, inputs, max_errors=1)
            return None if isinstance(found, list) else found
        sources: dict[str, VariableValueSource] = {}
        coerced: dict[str, Any] = {}
        for name, signature, type_, non_null in self._signatures:
            value = inputs.get(name, Undefined)
            if value is Undefined:
                sources[name] = VariableValueSource(signature)
                if non_null:
                    return None  # graphql-core: "of required type … was not provided"
                continue  # a nullable variable not given is left out
            sources[name] = VariableValueSource(signature, value)
            if input_is_nested_too_deeply(value, type_):
                return None
            value = coerce_input_value(value, type_)
            if value is Undefined:
                return None
            coerced[name] = value
        return VariableValues(sources, coerced)

    def argument_values(self, variables: VariableValues) -> dict[str, Any] | None:
        """`get_argument_values(field, node, variables)`, None where it raises."""
        values: dict[str, Any] = {}
        for out_name, coercion in self._arguments:
            value = coercion(variables)
            if value is _ABSENT:
                continue
            if value is Undefined:
                return None
            values[out_name] = value
        return values


# A place whose value the request leaves out (a missing variable where there is no default): no key at all.
_ABSENT: Any = object()


def _default_of(definition: Any) -> Any:
    """The coerced default of an argument or input field, Undefined for none, as graphql-core hands it out."""
    try:
        return coerce_default_value(definition)
    except TypeError as exc:  # an invalid default: graphql-core reports it on every request
        raise NotPlanned(str(exc)) from exc


class _Coercions:
    """Builds the coercion of each place of a document's arguments, once."""

    def __init__(self) -> None:
        self.constants: list[Any] = []
        self.generic = False

    def constant(self, value: Any, *, fresh: bool) -> Coercion:
        self.constants.append(value)
        if fresh and isinstance(value, dict | list):
            return lambda _: _copied(value)
        return lambda _: value

    def variable(self, node: VariableNode, type_: Any, default: Any, *, required: bool) -> Coercion:
        """A variable standing for an argument or an input field (graphql-core's `coerce_argument` and its
        `coerce_input_literal` treat both alike): its value; missing, Undefined for a `required` place, else its
        default, else nothing; null, Undefined for a non-null type."""
        name, non_null = node.name.value, is_non_null_type(type_)
        missing = Undefined if required else _ABSENT if default is Undefined else default
        if default is not Undefined:
            self.constants.append(default)

        def variable(variables: VariableValues) -> Any:
            value = variables.coerced.get(name, Undefined)
            if value is Undefined:
                return missing
            if value is None and non_null:
                return Undefined
            return value

        return variable

    def literal(self, node: ValueNode, type_: Any) -> Coercion:
        """A value written in the document, with or without variables in it."""
        if not _holds_variables(node):
            value = coerce_input_literal(node, type_)
            if value is Undefined:
                raise NotPlanned("a written value graphql-core refuses")
            return self.constant(value, fresh=True)
        if is_non_null_type(type_):
            type_ = type_.of_type
        if is_input_object_type(type_) and isinstance(node, ObjectValueNode) and not type_.is_one_of:
            return self.input_object(node, type_)
        self.generic = True

        def by_graphql_core(variables: VariableValues) -> Any:
            return coerce_input_literal(node, type_, variables)

        return by_graphql_core

    def input_object(self, node: ObjectValueNode, type_: GraphQLInputObjectType) -> Coercion:
        fields = type_.fields
        written = {field.name.value: field for field in node.fields}
        if any(name not in fields for name in written):
            raise NotPlanned(f"a field {type_.name} does not have")
        steps: list[tuple[str, Coercion]] = []
        for name, field in fields.items():
            out_name = field.out_name or name
            found = written.get(name)
            if found is None:
                if is_required_input_field(field):
                    raise NotPlanned(f"{type_.name}.{name} is missing")
                default = _default_of(field)
                if default is not Undefined:
                    steps.append((out_name, self.constant(default, fresh=False)))
            elif isinstance(found.value, VariableNode):
                required = is_required_input_field(field)
                default = Undefined if required else _default_of(field)
                steps.append((out_name, self.variable(found.value, field.type, default, required=required)))
            else:
                steps.append((out_name, self.literal(found.value, field.type)))
        out_type = type_.out_type

        def input_object(variables: VariableValues) -> Any:
            value: dict[str, Any] = {}
            for out_name, coercion in steps:
                field_value = coercion(variables)
                if field_value is _ABSENT:
                    continue
                if field_value is Undefined:
                    return Undefined
                value[out_name] = field_value
            return out_type(value)

        return input_object


def _holds_variables(node: ValueNode) -> bool:
    stack: list[ValueNode] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, VariableNode):
            return True
        if isinstance(item, ListValueNode):
            stack.extend(item.values)
        elif isinstance(item, ObjectValueNode):
            stack.extend(field.value for field in item.fields)
    return False


def _copied(value: Any) -> Any:
    """A fresh copy of the lists and objects of a coerced value (leaves are kept: graphql-core's are immutable)."""
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value
