"""Relay conventions: global ids, the Node interface, page info and connection building."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any, Generic, TypeAlias, TypeVar

import strawberry

from api.graphql.descriptions import describe_values
from domain.shared.errors import ErrorCode, FieldError, NotFound, ValidationFailed
from domain.shared.pagination import Page, SortDirection


def to_global_id(type_name: str, record_id: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{record_id}".encode()).decode().rstrip("="))


def parse_global_id(value: str) -> tuple[str, uuid.UUID] | None:
    """(type name, uuid) for a well-formed global id, else None."""
    try:
        raw = base64.urlsafe_b64decode((value + "=" * (-len(value) % 4)).encode()).decode()
        type_name, _, record = raw.partition(":")
        return type_name, uuid.UUID(record)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def id_of(value: str | None, expected_type: str, field: str) -> uuid.UUID:
    """The uuid inside a global id of the expected type; a field error otherwise."""
    if value is None:
        raise ValidationFailed([FieldError(field, ErrorCode.REQUIRED, f"{field} is required.")])
    parsed = parse_global_id(value)
    if parsed is None:
        raise ValidationFailed([FieldError(field, ErrorCode.INVALID, f"{field} is not a valid ID.")])
    type_name, record_id = parsed
    if type_name != expected_type:
        raise NotFound(f"No {expected_type} with that {field}.", field=field)
    return record_id


def optional_id_of(value: str | None, expected_type: str, field: str) -> uuid.UUID | None:
    return None if value is None else id_of(value, expected_type, field)


@strawberry.interface(description="An object with a globally unique ID, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="Globally unique, opaque ID.")


@strawberry.type(description="Where a page sits in its connection.")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Whether rows follow this page (beyond a `before` cursor too); fetch them with `after: endCursor`."
    )
    has_previous_page: bool = strawberry.field(
        description="Whether rows precede this page (before an `after` cursor too); fetch them with "
        "`last` and `before: startCursor`."
    )
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first row of this page; pass it as `before` for the previous page."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last row of this page; pass it as `after` for the next page."
    )


def page_info(page: Page[Any]) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )


# The four arguments of every connection field. With neither `first` nor `last`, a connection returns its first
# page of its default size (20 unless the field's description says otherwise).
FirstArg = Annotated[
    int | None,
    strawberry.argument(
        description="Return the first n rows (after `after`, when given); 0 to 100. Not together with `last`."
    ),
]
AfterArg = Annotated[
    str | None,
    strawberry.argument(
        description="Only rows after this cursor (an `endCursor` or edge `cursor` of this same list and order)."
    ),
]
LastArg = Annotated[
    int | None,
    strawberry.argument(
        description="Return the last n rows (before `before`, when given), still in list order; 0 to 100."
    ),
]
BeforeArg = Annotated[
    str | None,
    strawberry.argument(
        description="Only rows before this cursor (a `startCursor` or edge `cursor` of this same list and order)."
    ),
]

OrderDirection: TypeAlias = SortDirection
strawberry.enum(OrderDirection, name="OrderDirection", description="Sort direction.")
describe_values(
    OrderDirection,
    {
        "ASC": "Ascending: smallest, earliest or A first.",
        "DESC": "Descending: largest, latest or Z first.",
    },
)

T = TypeVar("T")


@strawberry.type(description="A row of a connection with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque keyset cursor of this row.")
    node: T = strawberry.field(description="The row.")


@strawberry.type(description="A page of rows, keyset-paginated.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The rows of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits.")
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many rows match in all, by the same visibility rule as the rows themselves.")
    async def total_count(self) -> int:
        return await self._count()


def connection(page: Page[Any], to_node: Callable[[Any], T], count: Callable[[], Awaitable[int]]) -> Connection[T]:
    """Wrap a domain page into a connection; `count` runs only if totalCount is asked for."""
    return Connection(
        edges=[Edge(cursor=c, node=to_node(row)) for c, row in zip(page.cursors, page.items, strict=True)],
        page_info=page_info(page),
        _count=count,
    )


def record_ref(value: str, node_types: Iterable[str], field: str = "recordId") -> tuple[str, uuid.UUID]:
    """(type name, uuid) of a global id naming any record of `node_types`; a field error otherwise."""
    parsed = parse_global_id(value)
    if parsed is None:
        raise ValidationFailed([FieldError(field, ErrorCode.INVALID, f"{field} is not a valid ID.")])
    if parsed[0] not in set(node_types):
        raise NotFound(f"No record with that {field}.", field=field)
    return parsed
