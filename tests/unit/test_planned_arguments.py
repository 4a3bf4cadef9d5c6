"""The planned argument conversion answers what strawberry's `convert_arguments` answers, value for value."""

from __future__ import annotations

import enum
from typing import Any

import graphql
import pytest
import strawberry
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.relay import GlobalID
from strawberry.types.arguments import convert_arguments
from strawberry.types.unset import UNSET

from api.graphql.compiled.arguments import NotPlanned, PlannedValues, planned_arguments
from api.graphql.schema import build_schema


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.input
class Inner:
    label: str
    colour: Colour | None = None
    tags: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class Outer:
    name: str
    inner: Inner | None
    inners: list[Inner] | None = None
    colours: list[Colour | None] | None = None
    maybe_note: strawberry.Maybe[str | None] = None
    target: GlobalID | None = None
    count: int = 3
    unset: str | None = UNSET


@strawberry.type
class Query:
    @strawberry.field
    def echo(self, value: Outer, plain: int | None = None, many: list[int] | None = None) -> str:
        return "echo"


SAMPLE = strawberry.Schema(query=Query)
OUTER_VALUES: list[dict[str, Any]] = [
    {"value": {"name": "a", "inner": None}},
    {"value": {"name": "a", "inner": {"label": "x"}}, "plain": 4},
    {"value": {"name": "a", "inner": {"label": "x", "colour": Colour.BLUE, "tags": ["t", "u"]}}, "plain": None},
    {
        "value": {
            "name": "b",
            "inner": {"label": "y", "colour": None},
            "inners": [{"label": "1"}, {"label": "2", "colour": Colour.RED}],
            "colours": [Colour.RED, None],
            "maybeNote": None,
            "target": "T3Bwb3J0dW5pdHk6MQ==",
            "count": 7,
        },
        "many": [1, 2],
    },
    {"value": {"name": "c", "inner": None, "maybeNote": "kept", "unset": "set"}, "many": None},
]


def _arguments(schema: strawberry.Schema, type_name: str, field_name: str) -> Any:
    definition = schema.get_type_by_name(type_name)
    for field in definition.fields:  # type: ignore[union-attr]
        if schema.config.name_converter.get_graphql_name(field) == field_name:
            return field.arguments
    raise LookupError(field_name)


@pytest.mark.parametrize("value", OUTER_VALUES)
def test_the_planned_conversion_answers_as_strawberrys(value: dict[str, Any]) -> None:
    arguments = _arguments(SAMPLE, "Query", "echo")
    registry, config = SAMPLE.schema_converter.scalar_registry, SAMPLE.config
    expected = convert_arguments(value, arguments, scalar_registry=registry, config=config)
    got = planned_arguments(arguments, registry, config)(value)
    assert got == expected
    assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]


def test_a_list_of_leaves_is_copied_not_shared() -> None:
    arguments = _arguments(SAMPLE, "Query", "echo")
    shared = [1, 2]
    got = planned_arguments(arguments, SAMPLE.schema_converter.scalar_registry, SAMPLE.config)(
        {"value": {"name": "a", "inner": None}, "many": shared}
    )
    assert got["many"] == shared and got["many"] is not shared


LOG_VALUES: list[dict[str, Any]] = [
    {"input": {"kind": "CALL", "subject": "A call"}},
    {"input": {"kind": "TASK", "subject": "A task", "opportunityId": "T3Bw", "notes": None, "done": False}},
    {"input": {"kind": "MEETING", "subject": "n", "accountId": "QWNj", "idempotencyKey": "k-1", "assigneeId": None}},
]


@pytest.mark.parametrize("value", LOG_VALUES)
def test_logactivitys_input_is_converted_as_strawberry_converts_it(value: dict[str, Any]) -> None:
    schema = build_schema(production=True)
    graphql_field = schema._schema.mutation_type.fields["logActivity"]  # type: ignore[union-attr]  # noqa: SLF001
    kind = graphql_field.args["input"].type.of_type.fields["kind"].type.of_type
    value = {"input": {**value["input"], "kind": kind.values[value["input"]["kind"]].value}}
    arguments = _arguments(schema, "Mutation", "logActivity")
    registry, config = schema.schema_converter.scalar_registry, schema.config
    expected = convert_arguments(value, arguments, scalar_registry=registry, config=config)
    assert planned_arguments(arguments, registry, config)(value) == expected


# --- graphql-core's coercion, planned (PlannedValues) ------------------------------------------------------------

CORE = graphql.build_schema(
    """
    enum Colour { RED BLUE }
    scalar Json
    input Inner { label: String!, colour: Colour = RED, tags: [String!] = ["a", "b"] }
    input Outer { name: String!, inner: Inner, inners: [Inner!], count: Int = 3, note: String, exact: Int! = 1 }
    input Choice @oneOf { a: String, b: Int }
    type Query {
      echo(value: Outer, plain: Int = 5, many: [Int], needed: Int!, choice: Choice, blob: Json): String
    }
    """
)
# Each document with the variable sets it is run with: given, missing, null, of the wrong type.
DOCUMENTS: list[tuple[str, list[dict[str, Any]]]] = [
    (
        'query ($n: String!) { echo(needed: 1, value: {name: $n, inner: {label: "x"}}) }',
        [{"n": "a"}, {}, {"n": None}, {"n": 4}],
    ),
    (
        "query ($c: Int, $note: String, $i: Inner) { echo(needed: 2, plain: $c,"
        ' value: {name: "w", count: $c, note: $note, exact: $c, inner: $i}) }',
        [{}, {"c": 7}, {"c": None}, {"note": "t", "i": {"label": "y", "tags": ["q"]}}, {"i": {"colour": "RED"}}],
    ),
    (
        "query ($need: Int!, $many: [Int]) { echo(needed: $need, many: $many) }",
        [{"need": 3}, {"need": 3, "many": [1, None]}, {"need": None}, {}, {"need": 1, "many": 2}],
    ),
    (
        'query ($m: Int, $l: String!) { echo(needed: 1, many: [1, $m, 3], value: {name: "n", inners: [{label: $l}]}) }',
        [{"l": "z"}, {"m": 2, "l": "z"}, {"m": None, "l": "z"}, {"l": None}],
    ),
    (
        "query ($a: String!) { echo(needed: 1, choice: {a: $a}) }",
        [{"a": "x"}, {}, {"a": None}],
    ),
    (
        "query ($x: Int) { echo(needed: 1, blob: {deep: [$x, 2]}) }",
        [{"x": 1}, {}],
    ),
    (
        "query ($d: Int = 9, $v: Outer) { echo(needed: $d, value: $v) }",
        [{}, {"d": 2}, {"v": {"name": "v", "inner": None}}, {"v": {"inner": None}}],
    ),
    (
        'query { echo(needed: 4, value: {name: "all written", inners: [{label: "1", tags: []}], note: null}) }',
        [{}, {"unused": "x"}],
    ),
]
CASES = [(document, variables) for document, sets in DOCUMENTS for variables in sets]


def _parsed(document: str) -> tuple[graphql.OperationDefinitionNode, graphql.FieldNode]:
    operation = graphql.parse(document).definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    (field,) = operation.selection_set.selections
    assert isinstance(field, graphql.FieldNode)
    return operation, field


def _graphql_cores(document: str, variables: dict[str, Any]) -> dict[str, Any] | None:
    """What graphql-core answers, None where it reports an error."""
    operation, node = _parsed(document)
    field = CORE.query_type.fields["echo"]  # type: ignore[union-attr]
    coerced = get_variable_values(CORE, operation.variable_definitions or (), variables, max_errors=1)
    if isinstance(coerced, list):
        return None
    try:
        return get_argument_values(field, node, coerced)
    except graphql.GraphQLError:
        return None


def _planned(document: str) -> PlannedValues:
    operation, node = _parsed(document)
    return PlannedValues(CORE, operation.variable_definitions, CORE.query_type.fields["echo"], node)  # type: ignore[union-attr]


def _plans(planned: PlannedValues, variables: dict[str, Any]) -> dict[str, Any] | None:
    coerced = planned.variable_values(variables)
    return None if coerced is None else planned.argument_values(coerced)


@pytest.mark.parametrize(("document", "variables"), CASES)
def test_the_planned_coercion_answers_as_graphql_core(document: str, variables: dict[str, Any]) -> None:
    assert graphql.validate(CORE, graphql.parse(document)) == []
    planned = _planned(document)
    expected = _graphql_cores(document, variables)
    # Twice: a request's values do not leak into the next one's.
    assert _plans(planned, variables) == expected
    assert _plans(planned, variables) == expected


def test_written_lists_and_objects_are_fresh_for_each_request() -> None:
    planned = _planned('query { echo(needed: 1, value: {name: "n", inners: [{label: "1", tags: ["t"]}]}) }')
    first = _plans(planned, {})
    assert first is not None
    first["value"]["inners"][0]["tags"].append("changed")
    first["value"]["name"] = "changed"
    assert _plans(planned, {}) == _graphql_cores(
        'query { echo(needed: 1, value: {name: "n", inners: [{label: "1", tags: ["t"]}]}) }', {}
    )


def test_only_variables_are_left_to_check_where_no_value_is_coerced_by_graphql_core() -> None:
    # Given a document whose variables stand alone or in input objects, and one with a variable inside a list
    # Then the text a request brings is its variables' in the first, and anywhere in the arguments in the second.
    assert _planned(DOCUMENTS[1][0]).variables_only
    assert not _planned(DOCUMENTS[3][0]).variables_only
    assert not _planned(DOCUMENTS[5][0]).variables_only
    constants = _planned(DOCUMENTS[-1][0]).constants
    assert {"name": "all written", "inners": [{"label": "1", "tags": [], "colour": "RED"}], "note": None} in [
        {key: value for key, value in constant.items() if key in ("name", "inners", "note")}
        for constant in constants
        if isinstance(constant, dict)
    ]


def test_a_field_argument_graphql_core_cannot_plan_is_refused_at_plan_time() -> None:
    with pytest.raises(NotPlanned):
        _planned("{ echo(plain: 1) }")  # `needed` is missing: validation refuses it, so does the plan
