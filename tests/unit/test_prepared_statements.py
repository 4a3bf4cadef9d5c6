"""A prepared statement's run values and rows are what working them out from its compiled form gives, every run."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import Column, Enum, Integer, MetaData, String, Table, bindparam, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from domain.shared.prepared import Prepared, prepare


class Shade(enum.Enum):
    LIGHT = "light"
    DARK = "dark"


TABLE = Table(
    "swatch",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("shade", Enum(Shade, name="shade")),
    Column("label", String),
)


def _statement() -> Any:
    """Named parameters with and without a processor (one used twice), and constants with and without one."""
    return select(TABLE.c.id, TABLE.c.shade, TABLE.c.label).where(
        TABLE.c.shade == bindparam("shade", type_=TABLE.c.shade.type),
        TABLE.c.shade != literal(Shade.DARK, TABLE.c.shade.type),
        TABLE.c.label == bindparam("label"),
        TABLE.c.id.in_(select(literal(3))),
        literal(["a", "b"], ARRAY(String)) == bindparam("tags", type_=ARRAY(String)),
        bindparam("extra", type_=JSONB).isnot(None),
        TABLE.c.label != bindparam("label"),
    )


def _worked_out(prepared: Prepared, parameters: dict[str, Any]) -> list[Any]:
    """The run's values as the prepared statement's own fields say, position by position."""
    values = []
    for name, constant, processor in zip(prepared.names, prepared.constants, prepared.processors, strict=True):
        value = parameters[name] if name is not None else constant
        values.append(processor(value) if processor is not None and value is not None else value)
    return values


def test_a_runs_values_are_each_positions_value_in_the_drivers_form() -> None:
    prepared = prepare(_statement())
    assert None in prepared.names and any(prepared.processors)
    for parameters in (
        {"shade": Shade.LIGHT, "label": "x", "tags": ["t"], "extra": {"k": 1}},
        {"shade": None, "label": None, "tags": None, "extra": None},
        {"shade": Shade.DARK, "label": "y", "tags": [], "extra": [1, "two"]},
    ):
        # Twice: a run's values do not stay for the next one.
        assert prepared.arguments(parameters) == _worked_out(prepared, parameters)
        assert prepared.arguments(parameters) == _worked_out(prepared, parameters)


def test_rows_hold_sqlalchemys_values_by_column() -> None:
    prepared = prepare(_statement())
    records = [(1, "LIGHT", "x"), (2, None, None), (3, "DARK", "z")]  # an enum column holds the members' names
    assert prepared.rows(records) == [
        {"id": 1, "shade": Shade.LIGHT, "label": "x"},
        {"id": 2, "shade": None, "label": None},
        {"id": 3, "shade": Shade.DARK, "label": "z"},
    ]
    assert prepared.rows([]) == []
