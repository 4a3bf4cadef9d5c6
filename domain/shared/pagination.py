"""Keyset pagination, forwards and backwards: opaque cursors over (sort value, id), never offsets.

A cursor is signed with the ordering it was issued for (which list, which sort column, which direction), so a
cursor of one list or ordering handed to another is refused with an error naming the argument, instead of
reaching SQL as a bound of the wrong type.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import ColumnElement, Select, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from domain.shared.errors import ErrorCode, FieldError, ValidationFailed

T = TypeVar("T")

# The statement of a list as a domain query function builds it through the door, and a column it is sorted by:
# the edge names their types so, without SQL of its own.
ListQuery = Select[Any]
ListColumn = InstrumentedAttribute[Any]

MAX_PAGE_SIZE = 100
# A cursor holds one sort value (a name of a few hundred characters at most) and an id; none we issue is longer.
MAX_CURSOR_LENGTH = 4000
DEFAULT_PAGE_SIZE = 20


class SortDirection(StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True)
class Ordering:
    """How one list is ordered: by a sort column, ties broken by id; ascending puts nulls last.

    `connection` names the list (e.g. "Query.opportunities"); with the column and the direction it signs the
    list's cursors.
    """

    connection: str
    sort_column: InstrumentedAttribute[Any]
    id_column: InstrumentedAttribute[uuid.UUID]
    direction: SortDirection

    @property
    def signature(self) -> str:
        table = self.sort_column.class_.__tablename__
        subject = f"{self.connection}|{table}.{self.sort_column.key}|{self.direction.value}"
        return hashlib.sha256(subject.encode()).hexdigest()[:16]

    def cursor(self, row: Any) -> str:
        """The cursor of a row of this list."""
        return encode_cursor(getattr(row, self.sort_column.key), getattr(row, self.id_column.key), self.signature)

    def position(self, cursor: str, argument: str) -> tuple[Any, uuid.UUID]:
        """(sort value, id) of a cursor of this list; a field error naming `argument` for any other."""
        try:
            value, row_id, signature = decode_cursor(cursor)
        except ValueError:
            raise _bad_cursor(argument, f"{argument} is not a cursor this API issued.") from None
        if signature != self.signature:
            raise _bad_cursor(
                argument,
                f"{argument} is a cursor of another list or ordering; "
                "pass one from this list's pageInfo or edges, in the same order.",
            )
        python_type = _python_type(self.sort_column)
        if isinstance(python_type, type) and issubclass(python_type, Enum) and isinstance(value, str):
            try:
                value = python_type[value]
            except KeyError:
                raise _bad_cursor(argument, f"{argument} is not a cursor this API issued.") from None
        if value is not None and not _is_of(value, python_type):
            raise _bad_cursor(argument, f"{argument} is not a cursor this API issued.")
        return value, row_id

    def rows_beyond(self, value: Any, row_id: uuid.UUID, descending: bool) -> ColumnElement[bool]:
        """Rows strictly after (value, row_id) in the order, ascending (nulls last) or descending (nulls first)."""
        sort, ids = self.sort_column, self.id_column
        id_beyond = ids < row_id if descending else ids > row_id
        if not _nullable(sort):
            key, bound = tuple_(sort, ids), tuple_(value, row_id)
            return key < bound if descending else key > bound
        if value is None:  # nulls come last ascending, first descending
            tie = sort.is_(None) & id_beyond
            return or_(tie, sort.is_not(None)) if descending else tie
        strictly = sort < value if descending else sort > value
        tie = (sort == value) & id_beyond
        return or_(strictly, tie) if descending else or_(strictly, tie, sort.is_(None))

    def order_clauses(self, descending: bool) -> tuple[Any, Any]:
        if descending:
            return self.sort_column.desc().nulls_first(), self.id_column.desc()
        return self.sort_column.asc().nulls_last(), self.id_column.asc()


def _python_type(column: InstrumentedAttribute[Any]) -> Any:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _nullable(column: InstrumentedAttribute[Any]) -> bool:
    return bool(getattr(column.expression, "nullable", True))


def _is_of(value: Any, python_type: Any) -> bool:
    if not isinstance(python_type, type):
        return True
    if python_type is date:
        return isinstance(value, date) and not isinstance(value, datetime)
    if python_type is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, python_type)


def _bad_cursor(argument: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(argument, ErrorCode.INVALID, message)])


@dataclass(frozen=True)
class PageRequest:
    """The slice a client asked for: the `first` rows after `after`, or the `last` rows before `before`.

    Both cursors may bound one page; `first` and `last` may not be combined. With neither, `default_size`
    rows from the start.
    """

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    default_size: int = DEFAULT_PAGE_SIZE

    @property
    def backward(self) -> bool:
        return self.last is not None

    @property
    def size(self) -> int:
        if self.last is not None:
            return self.last
        return self.first if self.first is not None else self.default_size

    def validated(self) -> PageRequest:
        """Raise a field error for a page size outside 0..100, `first` with `last`, or a malformed cursor."""
        errors = []
        for name, value in (("first", self.first), ("last", self.last)):
            if value is not None and value < 0:
                errors.append(FieldError(name, ErrorCode.OUT_OF_RANGE, f"{name} must not be negative."))
            elif value is not None and value > MAX_PAGE_SIZE:
                errors.append(FieldError(name, ErrorCode.OUT_OF_RANGE, f"{name} must be at most {MAX_PAGE_SIZE}."))
        if self.first is not None and self.last is not None:
            errors.append(
                FieldError("last", ErrorCode.INVALID, "Pass first (with after) or last (with before), not both.")
            )
        for name, cursor in (("after", self.after), ("before", self.before)):
            if cursor is not None:
                try:
                    decode_cursor(cursor)
                except ValueError:
                    errors.append(FieldError(name, ErrorCode.INVALID, f"{name} is not a cursor this API issued."))
        if errors:
            raise ValidationFailed(errors)
        return self


@dataclass
class Page(Generic[T]):
    """One page of rows, each with its cursor, and whether rows lie beyond it on either side."""

    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool


def _encode_value(value: Any) -> Any:
    if value is None:
        return {"t": "n", "v": None}
    if isinstance(value, datetime):
        return {"t": "dt", "v": value.isoformat()}
    if isinstance(value, date):
        return {"t": "d", "v": value.isoformat()}
    if isinstance(value, Decimal):
        return {"t": "dec", "v": str(value)}
    if isinstance(value, Enum):
        return {"t": "s", "v": value.name}
    if isinstance(value, bool):
        raise ValueError("cannot sort by a boolean")
    if isinstance(value, int):
        return {"t": "i", "v": value}
    return {"t": "s", "v": value}


def _decode_value(raw: Any) -> Any:
    kind, value = raw["t"], raw["v"]
    if kind == "n":
        return None
    if kind == "dt":
        return datetime.fromisoformat(value)
    if kind == "d":
        return date.fromisoformat(value)
    if kind == "dec":
        return Decimal(value)
    if kind == "i" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind != "s" or not isinstance(value, str):
        raise ValueError("bad cursor value")
    return value


def encode_cursor(value: Any, row_id: uuid.UUID, signature: str) -> str:
    """An opaque cursor for the row (`value`, `row_id`) of the ordering with that signature."""
    payload = orjson.dumps([_encode_value(value), row_id.hex, signature])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, uuid.UUID, str]:
    """(sort value, id, ordering signature) of a cursor; ValueError for anything this module did not write."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("longer than any cursor this API issues")
        padded = cursor + "=" * (-len(cursor) % 4)
        raw_value, raw_id, signature = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(signature, str):
            raise ValueError("bad cursor signature")
        return _decode_value(raw_value), uuid.UUID(hex=raw_id), signature
    except (ValueError, TypeError, KeyError, AttributeError, orjson.JSONDecodeError) as exc:
        raise ValueError("not a cursor") from exc


def bounded(stmt: Select[Any], ordering: Ordering, page: PageRequest) -> tuple[Select[Any], PagePositions]:
    """`stmt` narrowed to the cursors' window, in reading order, limited to one row more than the page.

    The extra row tells whether rows lie beyond the page in the reading direction. Raises a field error for a
    page request or cursor this list did not issue.
    """
    page = page.validated()
    descending = ordering.direction is SortDirection.DESC
    after = ordering.position(page.after, "after") if page.after is not None else None
    before = ordering.position(page.before, "before") if page.before is not None else None
    window = stmt
    if after is not None:
        window = window.where(ordering.rows_beyond(*after, descending))
    if before is not None:
        window = window.where(ordering.rows_beyond(*before, not descending))
    reading_descending = descending != page.backward
    query = window.order_by(None).order_by(*ordering.order_clauses(reading_descending)).limit(page.size + 1)
    return query, PagePositions(after, before, reading_descending)


@dataclass(frozen=True)
class PagePositions:
    """Where a page's cursors point, and the direction its rows are read in."""

    after: tuple[Any, uuid.UUID] | None
    before: tuple[Any, uuid.UUID] | None
    reading_descending: bool


def any_at_or_beyond(
    stmt: Select[Any], ordering: Ordering, position: tuple[Any, uuid.UUID], toward_end: bool
) -> Select[Any]:
    """EXISTS: a row of `stmt` lies at the cursor's position or beyond it, toward the end or toward the start."""
    descending = ordering.direction is SortDirection.DESC
    beyond = ordering.rows_beyond(*position, descending if toward_end else not descending)
    at_or_beyond = stmt.order_by(None).where(or_(beyond, ordering.id_column == position[1]))
    return _around(select(at_or_beyond.exists()), stmt)


async def paginate(session: AsyncSession, stmt: Select[Any], ordering: Ordering, page: PageRequest) -> Page[Any]:
    """One page of `stmt` in `ordering`, bounded by the cursors, with truthful next and previous page flags.

    The page costs one statement; each flag a cursor leaves open costs one EXISTS more.
    """
    query, positions = bounded(stmt, ordering, page)
    size = page.size
    rows = list((await session.execute(query)).scalars())
    more_in_reading_direction = len(rows) > size
    rows = rows[:size]
    if page.backward:
        rows.reverse()

    async def exists(position: tuple[Any, uuid.UUID] | None, toward_end: bool) -> bool:
        if position is None:
            return False
        return bool((await session.execute(any_at_or_beyond(stmt, ordering, position, toward_end))).scalar_one())

    if page.backward:
        has_previous = more_in_reading_direction or await exists(positions.after, toward_end=False)
        has_next = await exists(positions.before, toward_end=True)
    else:
        has_next = more_in_reading_direction or await exists(positions.before, toward_end=True)
        has_previous = await exists(positions.after, toward_end=False)
    return Page(rows, [ordering.cursor(r) for r in rows], has_next, has_previous)


async def count(session: AsyncSession, stmt: Select[Any]) -> int:
    """Rows `stmt` would return, by the same predicate."""
    total = _around(select(func.count()).select_from(stmt.order_by(None).subquery()), stmt)
    return int((await session.execute(total)).scalar_one())


def _around(outer: Select[Any], inner: Select[Any]) -> Select[Any]:
    """`outer`, a statement wrapped around `inner`, with `inner`'s execution options (such as the door's mark)."""
    return outer.execution_options(**inner.get_execution_options())
