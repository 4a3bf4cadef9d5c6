"""How DataLoaders are declared: beside their concept, and made only when a request first uses them.

A concept declares its loaders as attributes of a `LoaderSet` subclass in `api/graphql/<concept>/loaders.py`, with
the declarations below (`all_children`, `first_children`, `child_counts`); `api.graphql.context.Loaders` gathers
every concept's set in one place. Reading such an attribute the first time in a request makes its DataLoader;
later reads in that request get the same one, so a request pays only for the loaders its query touches.

Every batch reads through the door (`UnitOfWork`'s batched reads) in a read unit of work of its own: sibling
fields resolve concurrently, and one asyncpg connection refuses concurrent statements.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from strawberry.dataloader import DataLoader, DefaultCache

from domain.access.actor import Access
from domain.access.dependent_visibility import load_visible_dependents
from domain.access.unit_of_work import UnitOfWork
from services.unit_of_work import Sessions, reading

K = TypeVar("K")
V = TypeVar("V")
Batch = Callable[[list[K]], Awaitable[list[V]]]


class Cache(DefaultCache[K, V]):
    """A loader's cache of one request, where forgetting a record it never loaded is no error.

    A mutation clears the record it changed from the request's loaders before re-reading it, loaded or not.
    """

    def delete(self, key: K) -> None:
        self.cache_map.pop(self.cache_key_fn(key), None)


def loader(batch: Batch[K, V]) -> DataLoader[K, V]:
    """A request's DataLoader over `batch`, with that cache."""
    return DataLoader(batch, cache_map=Cache())


class LoaderSet:
    """The loaders of one request; a concept's subclass declares its own as `Lazy` attributes."""

    by_type: NodeLoaders

    def __init__(self, sessions: Sessions, access: Access) -> None:
        self.sessions = sessions
        self.access = access

    def reading(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A read unit of work of the request's actor, on a session of its own."""
        return reading(self.sessions, self.access)

    def made(self) -> set[str]:
        """The names of the loaders this request has made so far (`by_type["Lead"]` for a Node type's)."""
        own = {name for name, value in vars(self).items() if isinstance(value, DataLoader)}
        nodes = getattr(self, "by_type", None)
        return own | ({f'by_type["{name}"]' for name in nodes.made()} if nodes is not None else set())


class Lazy(Generic[K, V]):
    """A loader declared on a `LoaderSet`: its DataLoader is made the first time a request reads the attribute."""

    def __init__(self, batch: Callable[[LoaderSet], Batch[K, V]]) -> None:
        self.batch = batch
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, loaders: None, owner: type | None = None) -> Lazy[K, V]: ...

    @overload
    def __get__(self, loaders: LoaderSet, owner: type | None = None) -> DataLoader[K, V]: ...

    def __get__(self, loaders: LoaderSet | None, owner: type | None = None) -> Lazy[K, V] | DataLoader[K, V]:
        if loaders is None:
            return self
        made = loader(self.batch(loaders))
        # Kept on the instance, which Python reads before this (non-data) descriptor: later reads get this one.
        vars(loaders)[self.name] = made
        return made


@dataclass(frozen=True)
class ChildPageKey:
    """A nested connection's first page: which parent and how many rows."""

    parent_id: uuid.UUID
    first: int


@dataclass
class ChildPage:
    """The first rows of a nested connection and whether more follow."""

    rows: list[Any]
    has_next_page: bool


def all_children(
    model: type[Any], parent: Any, *, order: Any, parent_visible: bool = False
) -> Lazy[uuid.UUID, list[Any]]:
    """A loader of every row of `model` under a parent (the column `parent`), by `order` then id.

    `parent_visible=True` declares a model with no resource of its own, read only under parents the resolver has
    already shown to be visible (see `UnitOfWork.child_rows`).
    """

    def batch(loaders: LoaderSet) -> Batch[uuid.UUID, list[Any]]:
        async def load(parent_ids: list[uuid.UUID]) -> list[list[Any]]:
            async with loaders.reading() as uow:
                grouped = await uow.children(model, parent, parent_ids, order=order, parent_visible=parent_visible)
            return [grouped.get(i, []) for i in parent_ids]

        return load

    return Lazy(batch)


def first_children(model: type[Any], parent: Any, *, sort: Any) -> Lazy[ChildPageKey, ChildPage]:
    """A loader of a nested connection's first page per parent, newest first by `sort`, one statement per page size."""

    def batch(loaders: LoaderSet) -> Batch[ChildPageKey, ChildPage]:
        async def load(keys: list[ChildPageKey]) -> list[ChildPage]:
            by_size: dict[int, set[uuid.UUID]] = {}
            for key in keys:
                by_size.setdefault(key.first, set()).add(key.parent_id)
            pages: dict[ChildPageKey, ChildPage] = {}
            async with loaders.reading() as uow:
                for first, parent_ids in by_size.items():
                    found = await uow.first_children(model, parent, parent_ids, limit=first + 1, sort=sort)
                    for parent_id in parent_ids:
                        rows = found.get(parent_id, [])
                        pages[ChildPageKey(parent_id, first)] = ChildPage(rows[:first], len(rows) > first)
            return [pages[k] for k in keys]

        return load

    return Lazy(batch)


def child_counts(model: type, parent: Any) -> Lazy[uuid.UUID, int]:
    """A loader of how many visible rows of `model` lie under a parent (a nested connection's totalCount)."""

    def batch(loaders: LoaderSet) -> Batch[uuid.UUID, int]:
        async def load(parent_ids: list[uuid.UUID]) -> list[int]:
            async with loaders.reading() as uow:
                counts = await uow.count_children(model, parent, parent_ids)
            return [counts.get(i, 0) for i in parent_ids]

        return load

    return Lazy(batch)


class NodeLoaders(Mapping[str, DataLoader[uuid.UUID, Any]]):
    """`loaders.by_type["Opportunity"]`: each Node type's loader of visible records by id, made on first use.

    A protected model is read by its own resource's rule; a model without one by the rule of what it belongs to
    (`domain.access.dependent_visibility`). An invisible record and a missing one both load as None.
    """

    def __init__(
        self, loaders: LoaderSet, protected: Mapping[str, type[Any]], dependent: Mapping[str, type[Any]]
    ) -> None:
        self._loaders = loaders
        self._protected = protected
        self._dependent = dependent
        self._made: dict[str, DataLoader[uuid.UUID, Any]] = {}

    def __getitem__(self, type_name: str) -> DataLoader[uuid.UUID, Any]:
        made = self._made.get(type_name)
        if made is None:
            made = self._made[type_name] = loader(self._batch(type_name))
        return made

    def __iter__(self) -> Iterator[str]:
        return iter({**self._protected, **self._dependent})

    def __len__(self) -> int:
        return len(self._protected) + len(self._dependent)

    def made(self) -> set[str]:
        """The Node types whose loader this request has made."""
        return set(self._made)

    def _batch(self, type_name: str) -> Batch[uuid.UUID, Any]:
        loaders = self._loaders
        if type_name in self._protected:
            model = self._protected[type_name]

            async def load(ids: list[uuid.UUID]) -> list[Any]:
                async with loaders.reading() as uow:
                    found = await uow.load(model, ids)
                return [found.get(i) for i in ids]

            return load
        if type_name in self._dependent:
            dependent = self._dependent[type_name]

            async def load_dependent(ids: list[uuid.UUID]) -> list[Any]:
                async with loaders.reading() as uow:
                    found = await load_visible_dependents(uow, dependent, ids)
                return [found.get(i) for i in ids]

            return load_dependent
        raise KeyError(type_name)
