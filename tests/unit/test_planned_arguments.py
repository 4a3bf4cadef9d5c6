"""The planned argument conversion answers what strawberry's `convert_arguments` answers, value for value."""

from __future__ import annotations

import enum
from typing import Any

import pytest
import strawberry
from strawberry.relay import GlobalID
from strawberry.types.arguments import convert_arguments
from strawberry.types.unset import UNSET

from api.graphql.compiled.arguments import planned_arguments
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
