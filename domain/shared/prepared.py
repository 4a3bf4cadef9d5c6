"""Statements built once and run straight on the session's asyncpg connection, for the two every request runs.

The sign-in check and the budget's charge are fixed statements with a few parameters. Through the ORM each
execution costs about a millisecond of Python (a cache key over the statement, parameter processing, result
rows), more than the database spends on them; compiled once to asyncpg's SQL and run on the session's own
connection (in its transaction, if it has one) they cost a few microseconds. Their results are asyncpg records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, Integer, Numeric
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement

_DIALECT = asyncpg_dialect()


@dataclass(frozen=True)
class Prepared:
    """A statement as asyncpg runs it: its SQL ($1, $2, ...) and, for each position, a parameter's name and the
    processor that puts its value in the driver's form (or the constant the statement itself holds)."""

    sql: str
    names: tuple[str | None, ...]
    constants: tuple[Any, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    # The result's columns, and what makes each value the Python one SQLAlchemy would give (an enum member...).
    columns: tuple[str, ...]
    readers: tuple[Callable[[Any], Any] | None, ...]
    # Derived from the above once, so that a run does only the work its values need: the positions' values with
    # every constant already in the driver's form, the positions filled from the parameters, those of them a
    # processor converts, and the columns a reader converts.
    _template: tuple[Any, ...] = field(init=False, repr=False, compare=False)
    _named: tuple[tuple[int, str], ...] = field(init=False, repr=False, compare=False)
    _processed: tuple[tuple[int, Callable[[Any], Any]], ...] = field(init=False, repr=False, compare=False)
    _read: tuple[tuple[str, Callable[[Any], Any]], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        steps = tuple(zip(self.names, self.constants, self.processors, strict=True))
        template = tuple(
            processor(constant) if name is None and processor is not None and constant is not None else constant
            for name, constant, processor in steps
        )
        named = tuple((index, name) for index, (name, _, _) in enumerate(steps) if name is not None)
        processed = tuple(
            (index, processor)
            for index, (name, _, processor) in enumerate(steps)
            if name is not None and processor is not None
        )
        # A column named twice holds its last value, as a row by column does, read by that position's reader.
        last = dict(zip(self.columns, self.readers, strict=True))
        read = tuple((column, reader) for column, reader in last.items() if reader is not None)
        object.__setattr__(self, "_template", template)
        object.__setattr__(self, "_named", named)
        object.__setattr__(self, "_processed", processed)
        object.__setattr__(self, "_read", read)

    def arguments(self, parameters: Mapping[str, Any]) -> list[Any]:
        """The values of one run, by position, each in the driver's form."""
        values = list(self._template)
        for index, name in self._named:
            values[index] = parameters[name]
        for index, processor in self._processed:
            value = values[index]
            if value is not None:
                values[index] = processor(value)
        return values

    def rows(self, records: Sequence[Any]) -> list[dict[str, Any]]:
        """The driver's records as rows by column, with SQLAlchemy's Python values."""
        columns, read = self.columns, self._read
        rows = [dict(zip(columns, record, strict=True)) for record in records]
        if read:
            for row in rows:
                for column, reader in read:
                    value = row[column]
                    if value is not None:
                        row[column] = reader(value)
        return rows


def prepare(statement: ClauseElement) -> Prepared:
    """Compile a statement once; its `bindparam("name")`s without a value become the parameters of each run."""
    compiled: Any = statement.compile(dialect=_DIALECT)
    if "POSTCOMPILE" in compiled.string:
        raise ValueError("a prepared statement cannot hold an IN list; compare with each value (or ANY) instead")
    bound = compiled.binds
    processors: dict[str, Any] = dict(compiled._bind_processors)  # noqa: SLF001 - each parameter's driver form
    names, constants, kept = [], [], []
    for name in compiled.positiontup or ():
        parameter = bound[name]
        names.append(parameter.key if parameter.required else None)
        constants.append(None if parameter.required else parameter.value)
        kept.append(processors.get(name))
    results = compiled._result_columns  # noqa: SLF001 - the selected columns and their types
    columns = tuple(r.keyname for r in results)
    readers = tuple(_reader(r.type) for r in results)
    return Prepared(compiled.string, tuple(names), tuple(constants), tuple(kept), columns, readers)


def _reader(column_type: Any) -> Callable[[Any], Any] | None:
    """What turns a column's driver value into SQLAlchemy's: none for numbers, which asyncpg already gives as
    SQLAlchemy does (Decimal for numeric, float for double precision; its processors need the column's OID)."""
    if isinstance(column_type, Numeric | Float | Integer):
        return None
    reader: Callable[[Any], Any] | None = column_type._cached_result_processor(_DIALECT, None)  # noqa: SLF001
    return reader


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under the session's own (in its transaction, if it has one)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def fetch(on: AsyncSession | Any, prepared: Prepared, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows of one run of `prepared`, by column, with SQLAlchemy's Python values: on a session's connection,
    or on a bare asyncpg connection (a request's own, outside any transaction: infrastructure/request_connection)."""
    driver = await driver_connection(on) if isinstance(on, AsyncSession) else on
    return prepared.rows(await driver.fetch(prepared.sql, *prepared.arguments(parameters)))
