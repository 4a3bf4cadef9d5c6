"""Small pieces every resolver uses: the typed context and loading a visible record by id."""

from __future__ import annotations

import uuid
from typing import Any

from strawberry.types import Info

from api.graphql.context import Context


def ctx(info: Info) -> Context:
    return info.context  # type: ignore[no-any-return]


async def load(info: Info, type_name: str, record_id: uuid.UUID | None) -> Any:
    """The visible record of that type, or None (invisible and missing look the same)."""
    if record_id is None:
        return None
    return await ctx(info).loaders.by_type[type_name].load(record_id)


async def child_connection(
    info: Info,
    *,
    parent_id: uuid.UUID,
    first: int | None,
    after: str | None,
    page_loader: Any,
    count_loader: Any,
    query: Any,
    sort_column: Any,
    id_column: Any,
    to_node: Any,
    last: int | None = None,
    before: str | None = None,
) -> Any:
    """A nested connection, newest first: a plain first page comes batched from a loader, any other from one query."""
    from api.graphql.context import ChildPageKey
    from api.graphql.errors import BadInput
    from api.graphql.relay import connection
    from domain.shared.errors import DomainError
    from domain.shared.pagination import Page, PageRequest, SortDirection, paginate

    context = ctx(info)
    ordering = _ordering(info, sort_column, id_column, SortDirection.DESC)
    try:
        request = PageRequest(first=first, after=after, last=last, before=before).validated()
    except DomainError as exc:
        raise BadInput(exc) from exc

    async def count() -> int:
        return int(await count_loader.load(parent_id))

    async def fetch() -> Any:
        async with context.sessions() as session:
            return await paginate(session, query, ordering, request)

    if request.after is None and request.before is None and not request.backward:
        child = await page_loader.load(ChildPageKey(parent_id, request.size))
        page = Page(child.rows, [ordering.cursor(r) for r in child.rows], child.has_next_page, False)
    else:
        try:
            page = await fetch()
        except DomainError as exc:
            raise BadInput(exc) from exc
    return connection(page, to_node, count)


def _ordering(info: Info, sort_column: Any, id_column: Any, direction: Any) -> Any:
    """The ordering of the connection this field resolves; its cursors belong to it alone."""
    from domain.shared.pagination import Ordering

    return Ordering(f"{info.path.typename}.{info.field_name}", sort_column, id_column, direction)


async def list_connection(
    info: Info,
    *,
    query: Any,
    sort_column: Any,
    id_column: Any,
    direction: Any,
    first: int | None,
    after: str | None,
    to_node: Any,
    last: int | None = None,
    before: str | None = None,
    default_size: int = 20,
) -> Any:
    """A top-level connection: one statement for the page, one more only if totalCount is asked for."""
    from api.graphql.errors import run_query
    from api.graphql.relay import connection
    from domain.shared.pagination import PageRequest, count, paginate

    context = ctx(info)
    ordering = _ordering(info, sort_column, id_column, direction)
    request = PageRequest(first=first, after=after, last=last, before=before, default_size=default_size)

    async def fetch() -> Any:
        async with context.sessions() as session:
            return await paginate(session, query, ordering, request)

    async def total() -> int:
        async with context.sessions() as session:
            return await count(session, query)

    page = await run_query(fetch)
    return connection(page, to_node, total)


async def still_visible(info: Info, type_name: str, row: Any) -> Any:
    """The row as the caller may see it after their own change, or None when the change took it out of their sight.

    A mutation can move a record beyond its author's reach (a hand-over, a declined lead going to another
    partner); the payload then shows nothing of it, as any other read would.
    """
    fresh = await ctx(info).loaders.by_type[type_name].load(row.id)
    return fresh


async def mutate_visible(
    info: Info,
    change: Any,
    type_name: str,
    payload: Any,
    failed: Any,
) -> Any:
    """Run one use case in its own transaction; answer with `payload(row)` of the row as the caller may now see it
    (None when the change took it out of their sight), or `failed(errors)` for a domain failure."""
    from api.graphql.errors import run_mutation
    from infrastructure.db import transaction

    async def perform() -> Any:
        async with transaction(ctx(info).sessions) as session:
            row = await change(session)
        return payload(await still_visible(info, type_name, row))

    return await run_mutation(perform, failed)
