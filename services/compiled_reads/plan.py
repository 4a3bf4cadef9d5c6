"""The plan of a compiled read: which root fields, which fields of each record, under which response keys."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from domain.access.unit_of_work import UnitOfWork
from domain.shared.pagination import ListQuery, Ordering, PageRequest


@dataclass(frozen=True)
class Pick:
    """One selected field: its response key, its name on the parent, and what is selected below it.

    `typename` is set for `__typename`, whose answer the planner already knows.
    """

    key: str
    name: str
    children: tuple[Pick, ...] = ()
    typename: str | None = None
    page: PageRequest | None = None  # a nested connection's page, from its arguments


@dataclass(frozen=True)
class NodeRoot:
    """A root field answering one record by id (`node(id:)`), null when it is invisible."""

    key: str
    type_name: str
    record_id: uuid.UUID
    picks: tuple[Pick, ...]


@dataclass(frozen=True)
class ListRoot:
    """A root connection: its rows as the domain's query function lists them, one forward page of them.

    `picks` is the selection on the connection: totalCount, pageInfo and edges (cursor and node).
    """

    key: str
    type_name: str
    query: Callable[[UnitOfWork], ListQuery]
    ordering: Ordering
    page: PageRequest
    picks: tuple[Pick, ...]


@dataclass(frozen=True)
class ForecastRoot:
    """`forecast(periodStart:, periodEnd:, currency:)` without a slice: its currency and totals by category."""

    key: str
    start: date
    end: date
    currency: str
    picks: tuple[Pick, ...]


@dataclass(frozen=True)
class ReceivablesRoot:
    """`receivables` without a filter: per currency, over the visible orders and contracts, as of `today`."""

    key: str
    today: date
    picks: tuple[Pick, ...]


@dataclass(frozen=True)
class TypenameRoot:
    """`__typename` at the root."""

    key: str
    typename: str


Root = NodeRoot | ListRoot | ForecastRoot | ReceivablesRoot | TypenameRoot


class NotCompiled(Exception):
    """The planner or the renderer does not cover this operation; the resolvers answer it."""
