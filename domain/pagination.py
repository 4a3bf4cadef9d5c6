"""Keyset pagination: opaque cursors over (sort value, id), never offsets."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from domain.errors import ErrorCode, FieldError, ValidationFailed

T = TypeVar("T")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


class SortDirection(StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True)
class PageRequest:
    """The slice a client asked for: `first` rows after the `after` cursor."""

    first: int = DEFAULT_PAGE_SIZE
    after: str | None = None

    def validated(self) -> PageRequest:
        """Raise a field error for a page size outside 0..100 or a malformed cursor."""
        errors = []
        if self.first < 0:
            errors.append(FieldError("first", ErrorCode.OUT_OF_RANGE, "first must not be negative."))
        elif self.first > MAX_PAGE_SIZE:
            errors.append(FieldError("first", ErrorCode.OUT_OF_RANGE, f"first must be at most {MAX_PAGE_SIZE}."))
        if self.after is not None:
            try:
                decode_cursor(self.after)
            except ValueError:
                errors.append(FieldError("after", ErrorCode.INVALID, "after is not a cursor this API issued."))
        if errors:
            raise ValidationFailed(errors)
        return self


@dataclass
class Page(Generic[T]):
    """One page of rows, each with its cursor."""

    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": "dt", "v": value.isoformat()}
    if isinstance(value, date):
        return {"t": "d", "v": value.isoformat()}
    if isinstance(value, Decimal):
        return {"t": "dec", "v": str(value)}
    if isinstance(value, StrEnum):
        return {"t": "s", "v": value.name}
    return {"t": "s", "v": value}


def _decode_value(raw: Any) -> Any:
    kind, value = raw["t"], raw["v"]
    if kind == "dt":
        return datetime.fromisoformat(value)
    if kind == "d":
        return date.fromisoformat(value)
    if kind == "dec":
        return Decimal(value)
    if not isinstance(value, str):
        raise ValueError("bad cursor value")
    return value


def encode_cursor(value: Any, row_id: uuid.UUID) -> str:
    payload = orjson.dumps([_encode_value(value), row_id.hex])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, uuid.UUID]:
    """Parse a cursor; ValueError for anything this module did not write."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw_value, raw_id = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        return _decode_value(raw_value), uuid.UUID(hex=raw_id)
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError) as exc:
        raise ValueError("not a cursor") from exc


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    sort_column: InstrumentedAttribute[Any],
    id_column: InstrumentedAttribute[uuid.UUID],
    direction: SortDirection,
    page: PageRequest,
) -> Page[Any]:
    """Fetch one page of `stmt` ordered by (sort_column, id), using the cursor as a keyset bound."""
    page = page.validated()
    descending = direction is SortDirection.DESC
    if page.after is not None:
        value, row_id = decode_cursor(page.after)
        if isinstance(sort_column.type.python_type, type) and issubclass(sort_column.type.python_type, StrEnum):
            value = sort_column.type.python_type[value]
        key = tuple_(sort_column, id_column)
        stmt = stmt.where(key < tuple_(value, row_id) if descending else key > tuple_(value, row_id))
    order = (sort_column.desc(), id_column.desc()) if descending else (sort_column.asc(), id_column.asc())
    rows = list((await session.execute(stmt.order_by(*order).limit(page.first + 1))).scalars())
    has_next = len(rows) > page.first
    rows = rows[: page.first]
    cursors = [encode_cursor(getattr(r, sort_column.key), getattr(r, id_column.key)) for r in rows]
    return Page(rows, cursors, has_next, page.after is not None)


async def count(session: AsyncSession, stmt: Select[Any]) -> int:
    """Rows `stmt` would return, by the same predicate."""
    return (await session.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))).scalar_one()
