"""Reading records through the actor's visibility predicate: the only door to a protected row."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.actor import Access, Action, Resource
from domain.shared.errors import Forbidden, NotFound

M = TypeVar("M")

RESOURCE_LABELS = {
    Resource.ACCOUNT: "account",
    Resource.CONTACT: "contact",
    Resource.OPPORTUNITY: "opportunity",
    Resource.ACTIVITY: "activity",
    Resource.ORGANIZATION: "organization",
    Resource.USER: "user",
    Resource.TERRITORY: "territory",
}


def visible(model: type[M], access: Access, resource: Resource, action: Action = Action.READ) -> Any:
    """`select(model)` narrowed to the rows the actor may act on."""
    return select(model).where(access.rows(resource, action))


async def get_or_raise(
    session: AsyncSession,
    access: Access,
    model: type[M],
    resource: Resource,
    record_id: uuid.UUID | None,
    *,
    action: Action = Action.READ,
    field: str = "id",
    for_update: bool = False,
) -> M:
    """The record, if the actor may act on it; NotFound when it is invisible, Forbidden when read-only to them."""
    label = RESOURCE_LABELS.get(resource, str(resource))
    if record_id is None:
        raise NotFound(f"No {label} with that id.", field=field)
    stmt = visible(model, access, resource, action).where(model.id == record_id)  # type: ignore[attr-defined]
    if for_update:
        stmt = stmt.with_for_update()
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is not None:
        return found
    if action is not Action.READ:
        readable = (
            await session.execute(
                select(model.id).where(access.rows(resource, Action.READ), model.id == record_id)  # type: ignore[attr-defined]
            )
        ).scalar_one_or_none()
        if readable is not None:
            raise Forbidden(f"You may see this {label} but not {action.value} it.", field=field)
    raise NotFound(f"No {label} with that id.", field=field)


async def load_visible(
    session: AsyncSession, access: Access, model: type[M], resource: Resource, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, M]:
    """The visible records among `ids`, in one statement, keyed by id."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows: Sequence[M] = (
        (
            await session.execute(visible(model, access, resource).where(model.id.in_(wanted)))  # type: ignore[attr-defined]
        )
        .scalars()
        .all()
    )
    return {r.id: r for r in rows}  # type: ignore[attr-defined]
