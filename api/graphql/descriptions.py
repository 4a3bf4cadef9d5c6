"""Descriptions for what strawberry cannot describe in place: resolver arguments, and values of the domain's enums.

The domain's enums know nothing of GraphQL, so their values are described where the API exposes them; a
mutation's one `input` argument says what its input type says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, TypeVar

from strawberry.types.base import StrawberryContainer, StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

F = TypeVar("F", bound=StrawberryField)
E = TypeVar("E", bound=type[Enum])


def described_arguments(**descriptions: str) -> Callable[[F], F]:
    """Describe a resolver's arguments by their Python names; put it above `@strawberry.field`/`mutation`."""

    def describe(field: F) -> F:
        by_name = {argument.python_name: argument for argument in field.arguments}
        unknown = descriptions.keys() - by_name.keys()
        if unknown:
            raise TypeError(f"{field.python_name} has no argument {', '.join(sorted(unknown))}")
        for name, description in descriptions.items():
            by_name[name].description = description
        return field

    return describe


def describe_values(enum: E, descriptions: Mapping[str, str]) -> E:
    """Describe every value of an enum exposed with `strawberry.enum`, by member name; each must have one."""
    definition = enum.__strawberry_definition__  # type: ignore[attr-defined]
    names = {value.name for value in definition.values}
    if names != descriptions.keys():
        raise TypeError(f"{definition.name}: describe exactly {sorted(names)}, not {sorted(descriptions)}")
    for value in definition.values:
        value.description = descriptions[value.name]
    return enum


def describe_inputs_by_their_type(mutation_type: Any) -> None:
    """Give each mutation's undescribed `input` argument the description of its input type."""
    definition: StrawberryObjectDefinition = mutation_type.__strawberry_definition__
    for field in definition.fields:
        for argument in field.arguments:
            if argument.python_name != "input" or argument.description:
                continue
            input_type = argument.type
            while isinstance(input_type, StrawberryContainer):
                input_type = input_type.of_type
            argument.description = input_type.__strawberry_definition__.description  # type: ignore[union-attr]
