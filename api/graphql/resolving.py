"""Small pieces every resolver uses: the typed context, a visible record by id, one read, and connections.

Resolvers build no SQL: a list's statement comes from a domain query function, built through the door
(`uow.visible(...)` and friends); the connections here run it in a read unit of work of the caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from api.graphql.context import Context
from api.graphql.errors import BadInput, as_graphql_error, run_query
from api.graphql.loaders import ChildPage, ChildPageKey
from api.graphql.relay import Connection, connection
from domain.access.unit_of_work import UnitOfWork
from domain.shared.errors import DomainError
from domain.shared.pagination import (
    ListColumn,
    ListQuery,
    Ordering,
    Page,
    PageRequest,
    SortDirection,
    count,
    paginate,
)
from services.unit_of_work import reading

T = TypeVar("T")
# A list: the domain query function that builds its statement through the door of the read unit of work it is
# given (`lambda uow: opportunities_query(uow, filter)`); the unit exists only while the list is read.
ListingQuery = Callable[[UnitOfWork], ListQuery]


@dataclass(frozen=True)
class Listing:
    """A top-level list as its arguments ask for it: its query function and its ordering."""

    query: ListingQuery
    sort_column: ListColumn
    id_column: ListColumn
    direction: SortDirection


# Set while the compiler plans a read (api/graphql/compiled): a root list's resolver then hands over the list it
# would read instead of reading it, so the compiled statement reads exactly the rows the resolver would.
PLANNING: ContextVar[bool] = ContextVar("crm_planning_a_compiled_read", default=False)


class PlannedList(Exception):  # noqa: N818 - raised to hand a result back, not to report a failure
    """A root list's resolver, called while planning: the list its arguments ask for and the page."""

    def __init__(self, listing: Listing, page: PageRequest) -> None:
        super().__init__("a list planned for a compiled read")
        self.listing = listing
        self.page = page


def ctx(info: Info) -> Context:
    return info.context


async def load(info: Info, type_name: str, record_id: uuid.UUID | None) -> Any:
    """The visible record of that type, or None (invisible and missing look the same)."""
    if record_id is None:
        return None
    return await ctx(info).loaders.by_type[type_name].load(record_id)


async def read(info: Info, query: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run one domain query in a read unit of work of the caller; a domain failure becomes a GraphQL error."""
    context = ctx(info)
    async with reading(context.sessions, context.access) as uow:
        try:
            return await query(uow)
        except DomainError as exc:
            raise as_graphql_error(exc) from exc


async def child_connection(
    info: Info,
    *,
    parent_id: uuid.UUID,
    first: int | None,
    after: str | None,
    page_loader: DataLoader[ChildPageKey, ChildPage],
    count_loader: DataLoader[uuid.UUID, int],
    query: ListingQuery,
    sort_column: ListColumn,
    id_column: ListColumn,
    to_node: Callable[[Any], T],
    last: int | None = None,
    before: str | None = None,
) -> Connection[T]:
    """A nested connection, newest first: a plain first page comes batched from a loader, any other from one query.

    `query` lists the parent's children the viewer may see, in the same rows the loaders batch.
    """
    context = ctx(info)
    ordering = _ordering(info, sort_column, id_column, SortDirection.DESC)
    try:
        request = PageRequest(first=first, after=after, last=last, before=before).validated()
    except DomainError as exc:
        raise BadInput(exc) from exc

    async def total() -> int:
        return int(await count_loader.load(parent_id))

    if request.after is None and request.before is None and not request.backward:
        child = await page_loader.load(ChildPageKey(parent_id, request.size))
        page = Page(child.rows, [ordering.cursor(r) for r in child.rows], child.has_next_page, False)
    else:
        try:
            async with reading(context.sessions, context.access) as uow:
                page = await paginate(uow.session, query(uow), ordering, request)
        except DomainError as exc:
            raise BadInput(exc) from exc
    return connection(page, to_node, total)


def _ordering(info: Info, sort_column: ListColumn, id_column: ListColumn, direction: SortDirection) -> Ordering:
    """The ordering of the connection this field resolves; its cursors belong to it alone."""
    return Ordering(f"{info.path.typename}.{info.field_name}", sort_column, id_column, direction)


async def list_connection(
    info: Info,
    *,
    query: ListingQuery,
    sort_column: ListColumn,
    id_column: ListColumn,
    direction: SortDirection,
    first: int | None,
    after: str | None,
    to_node: Callable[[Any], T],
    last: int | None = None,
    before: str | None = None,
    default_size: int = 20,
) -> Connection[T]:
    """A top-level connection: one statement for the page, one more only if totalCount is asked for.

    Each runs in a read unit of work of its own, since totalCount may resolve beside other fields.
    """
    request = PageRequest(first=first, after=after, last=last, before=before, default_size=default_size)
    if PLANNING.get():
        raise PlannedList(Listing(query, sort_column, id_column, direction), request)
    context = ctx(info)
    ordering = _ordering(info, sort_column, id_column, direction)

    async def fetch() -> Page[Any]:
        async with reading(context.sessions, context.access) as uow:
            return await paginate(uow.session, query(uow), ordering, request)

    async def total() -> int:
        async with reading(context.sessions, context.access) as uow:
            return await count(uow.session, query(uow))

    page = await run_query(fetch)
    return connection(page, to_node, total)
