"""The one door to protected rows: a use case's unit of work carries its session and the actor's access.

A protected model names the resource its rows belong to (`__resource__`). Every read of such a model goes
through a unit of work, which narrows it to the rows the actor may act on and marks the statement as having
passed the door. A guard on every ORM session refuses a protected model selected without that mark, so the
rule is a guarantee rather than a convention. System jobs that rightly see a whole tenant read through
`system_access(tenant_id)`, whose name is easy to search for.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import greenlet
from sqlalchemy import ColumnElement, FromClause, Join, Select, Table, event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, ORMExecuteState, Session, aliased
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression
from sqlalchemy.sql.selectable import ScalarSelect
from sqlalchemy.sql.visitors import replacement_traverse

from domain.access.actor import Access, Action, Actor, ActorKind, Resource
from domain.shared.errors import Forbidden, NotFound

M = TypeVar("M")

DOOR = "crm_door"  # the execution option a statement from the door carries: "actor" or "system"
PROTECTED: dict[Resource, type] = {}


class Protected:
    """A model whose rows only the door reads; subclasses name their resource in `__resource__`."""

    __resource__: ClassVar[Resource]
    __label__: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        resource = cls.__dict__.get("__resource__")
        if resource is not None:
            PROTECTED[resource] = cls


def resource_of(model: type) -> Resource:
    """The resource a protected model's rows belong to."""
    resource: Resource | None = getattr(model, "__resource__", None)
    if resource is None:
        raise TypeError(f"{model.__name__} is not a protected model.")
    return resource


def label_of(model: type) -> str:
    """How messages name a record of the model ("opportunity", "deal registration")."""
    return getattr(model, "__label__", None) or str(resource_of(model))


def per_row(predicate: ColumnElement[Any]) -> ColumnElement[Any]:
    """A row rule written for one row at a time: each `x IN (SELECT c ...)` becomes `EXISTS (SELECT ... AND c = x)`.

    Row rules are written as sets (`id IN (visible ids)`), which is what a list wants: PostgreSQL builds the set
    once and probes it for every row. For one record (a node, a to-one record, a deal's own team or timeline) the
    set is the whole cost: a distributor's 50,000 visible deals hashed to check one. As EXISTS, tied to the row,
    the same rule is an index probe. The rows matched are the same; only the plan changes.
    """

    def rewrite(element: Any) -> Any:
        if not (isinstance(element, BinaryExpression) and element.operator is operators.in_op):
            return None
        right = element.right
        inner = getattr(right, "element", None)
        if not isinstance(right, ScalarSelect) or not isinstance(inner, Select):
            return None
        columns = inner.selected_columns
        left = element.left
        table = getattr(left, "table", None)
        if len(columns) != 1 or table is None or table in inner.get_final_froms():
            return None
        rewritten: Select[Any] = traverse(inner, {}, rewrite)
        return rewritten.where(columns[0] == left).exists()

    # SQLAlchemy's stubs type the traversal for some elements only; it rewrites any clause the same way.
    traverse: Any = replacement_traverse
    result: ColumnElement[Any] = traverse(predicate, {}, rewrite)
    return result


@dataclass
class UnitOfWork:
    """A session and the access of the actor it works for: the only way a use case reads protected rows."""

    session: AsyncSession
    access: Access
    # Statements are marked "system" when the access is a system access, so a guard can tell the two apart.
    door: str = field(init=False)

    def __post_init__(self) -> None:
        self.door = "system" if isinstance(self.access, SystemAccess) else "actor"

    @property
    def actor(self) -> Actor:
        return self.access.actor

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.access.actor.tenant_id

    def rows(
        self, model: type, action: Action = Action.READ, *, resource: Resource | None = None
    ) -> ColumnElement[bool]:
        """The predicate over `model`'s table matching the rows the actor may act on (for joins and subqueries)."""
        return self.access.rows(resource or resource_of(model), action)

    def rows_reached(self, model: type, parent: type, link: str) -> ColumnElement[bool]:
        """`rows(model)` for `model`'s rows reached through `link` ("table.column") from a `parent` row read under
        the actor's own read rule: only the tenant's when that rule already proves `model`'s (Access.rows_reached)."""
        return self.access.rows_reached(resource_of(model), resource_of(parent), link)

    def mark(self, statement: Any) -> Any:
        """A statement built around `rows()` predicates, marked as having passed the door."""
        return statement.execution_options(**{DOOR: self.door})

    def marks(self) -> dict[str, str]:
        """The mark as execution options, for a statement built once and run many times (`session.execute(stmt,
        params, execution_options=uow.marks())`): the statement object stays the same, and so does its cache key."""
        return {DOOR: self.door}

    def visible(self, model: type[M], action: Action = Action.READ, *, resource: Resource | None = None) -> Select[Any]:
        """`select(model)` narrowed to the rows the actor may act on."""
        return self.mark(select(model).where(self.rows(model, action, resource=resource)))

    def visible_few(self, model: type[M], action: Action = Action.READ) -> Select[Any]:
        """`visible(model)` for a statement that narrows to a few rows (one deal's quotes): the row rule `per_row`."""
        return self.mark(select(model).where(per_row(self.rows(model, action))))

    def visible_columns(
        self, model: type, *columns: Any, action: Action = Action.READ, resource: Resource | None = None
    ) -> Select[Any]:
        """`select(*columns)` over `model`'s visible rows (ids, counts, sums)."""
        return self.mark(select(*columns).select_from(model).where(self.rows(model, action, resource=resource)))

    async def get(
        self,
        model: type[M],
        record_id: uuid.UUID | None,
        *,
        action: Action = Action.READ,
        field: str = "id",
        for_update: bool = False,
        resource: Resource | None = None,
    ) -> M:
        """The record, if the actor may act on it; NotFound when it is invisible, Forbidden when read-only to them."""
        label = label_of(model)
        if record_id is None:
            raise NotFound(f"No {label} with that id.", field=field)
        stmt = self.visible(model, action, resource=resource).where(model.id == record_id)  # type: ignore[attr-defined]
        if for_update:
            stmt = stmt.with_for_update()
        found = (await self.session.execute(stmt)).scalar_one_or_none()
        if found is not None:
            return found
        if action is not Action.READ:
            readable = await self.session.scalar(
                self.visible_columns(model, model.id, resource=resource).where(model.id == record_id)  # type: ignore[attr-defined]
            )
            if readable is not None:
                raise Forbidden(f"You may see this {label} but not {action.value} it.", field=field)
        raise NotFound(f"No {label} with that id.", field=field)

    async def load(
        self, model: type[M], ids: Iterable[uuid.UUID], *, resource: Resource | None = None
    ) -> dict[uuid.UUID, M]:
        """The visible records among `ids`, in one statement, keyed by id."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        stmt = self.visible(model, resource=resource).where(model.id.in_(wanted))  # type: ignore[attr-defined]
        rows: Sequence[M] = (await self.session.execute(stmt)).scalars().all()
        return {r.id: r for r in rows}  # type: ignore[attr-defined]

    def child_rows(self, model: type, *, parent_visible: bool = False) -> ColumnElement[bool]:
        """The predicate over `model`'s rows a batched read of children carries.

        A protected model's rows are narrowed to the actor's. A model with no resource of its own (a quote's
        lines, a deal's team seats) is read only as the child of parents the caller has already shown to be
        visible, which `parent_visible=True` states; its rows are then narrowed to the tenant.
        """
        if getattr(model, "__resource__", None) is not None:
            return self.rows(model)
        if not parent_visible:
            raise TypeError(
                f"{model.__name__} has no resource of its own: read it as the child of records already shown "
                "visible (parent_visible=True)."
            )
        return model.tenant_id == self.tenant_id  # type: ignore[attr-defined]

    async def children(
        self,
        model: type[M],
        parent: InstrumentedAttribute[Any],
        parent_ids: Iterable[uuid.UUID],
        *,
        order: Any,
        parent_visible: bool = False,
    ) -> dict[uuid.UUID, list[M]]:
        """Every row of `model` under each of `parent_ids` (by `order`, then id), keyed by parent, in one statement.

        `parent` is the column naming the parent; see `child_rows` for which rows are read.
        """
        wanted = list(set(parent_ids))
        if not wanted:
            return {}
        stmt = self.mark(
            select(model)
            .where(self.child_rows(model, parent_visible=parent_visible), parent.in_(wanted))
            .order_by(order, model.id)  # type: ignore[attr-defined]
        )
        grouped: dict[uuid.UUID, list[M]] = defaultdict(list)
        for row in (await self.session.execute(stmt)).scalars():
            grouped[getattr(row, parent.key)].append(row)
        return dict(grouped)

    async def first_children(
        self,
        model: type[M],
        parent: InstrumentedAttribute[Any],
        parent_ids: Iterable[uuid.UUID],
        *,
        limit: int,
        sort: InstrumentedAttribute[Any],
        parent_visible: bool = False,
    ) -> dict[uuid.UUID, list[M]]:
        """Up to `limit` rows of `model` per parent, newest first (by `sort`, then id), in one windowed statement.

        The first page of a nested connection for a whole page of parents at once; see `child_rows` for which
        rows are read.
        """
        wanted = list(set(parent_ids))
        if not wanted:
            return {}
        newest_first = (sort.desc(), model.id.desc())  # type: ignore[attr-defined]
        rank = func.row_number().over(partition_by=parent, order_by=newest_first).label("rank")
        inner = (
            select(model, rank)
            .where(self.child_rows(model, parent_visible=parent_visible), parent.in_(wanted))
            .subquery()
        )
        ranked = aliased(model, inner)
        stmt = self.mark(select(ranked).where(inner.c.rank <= limit).order_by(inner.c[parent.key], inner.c.rank))
        grouped: dict[uuid.UUID, list[M]] = defaultdict(list)
        for row in (await self.session.execute(stmt)).scalars():
            grouped[getattr(row, parent.key)].append(row)
        return dict(grouped)

    async def count_children(
        self,
        model: type,
        parent: InstrumentedAttribute[Any],
        parent_ids: Iterable[uuid.UUID],
        *,
        parent_visible: bool = False,
    ) -> dict[uuid.UUID, int]:
        """How many rows of `model` lie under each of `parent_ids` (absent when none), in one statement."""
        wanted = list(set(parent_ids))
        if not wanted:
            return {}
        stmt = self.mark(
            select(parent, func.count())
            .select_from(model)
            .where(self.child_rows(model, parent_visible=parent_visible), parent.in_(wanted))
            .group_by(parent)
        )
        return {parent_id: int(count) for parent_id, count in await self.session.execute(stmt)}


@dataclass(frozen=True)
class SystemAccess:
    """The access of a system job over one whole tenant: every action, every row of that tenant."""

    actor: Actor

    def can(self, resource: Resource, action: Action) -> bool:
        return True

    def rows(self, resource: Resource, action: Action = Action.READ) -> ColumnElement[bool]:
        model = PROTECTED[resource] if resource in PROTECTED else _MODEL_OF[resource]()
        return model.tenant_id == self.actor.tenant_id  # type: ignore[attr-defined]

    def rows_beyond_team(self, resource: Resource, action: Action) -> ColumnElement[bool]:
        return self.rows(resource, action)

    def rows_reached(self, resource: Resource, parent: Resource, link: str) -> ColumnElement[bool]:
        return self.rows(resource)


# Resources whose rows are another resource's table (the owner of a deal is a column of the deal, and so on).
_MODEL_OF = {
    Resource.OPPORTUNITY_OWNER: lambda: PROTECTED[Resource.OPPORTUNITY],
    Resource.OPPORTUNITY_TEAM: lambda: PROTECTED[Resource.USER],
    Resource.OPPORTUNITY_PARTNER: lambda: PROTECTED[Resource.ORGANIZATION],
}


def system_access(tenant_id: uuid.UUID, job: str = "system") -> SystemAccess:
    """The access of a system job that rightly sees the whole of one tenant (ERP sync, expiry, sign-in lookups)."""
    return SystemAccess(Actor(tenant_id=tenant_id, kind=ActorKind.MACHINE, roles=frozenset(), client_id=job))


def system_unit_of_work(session: AsyncSession, tenant_id: uuid.UUID, job: str = "system") -> UnitOfWork:
    """A unit of work for a system job over one tenant."""
    return UnitOfWork(session, system_access(tenant_id, job))


def across_tenants(statement: Any, why: str) -> Any:
    """A statement that reads protected rows of every tenant (the worker's sweeps); `why` says what it is for."""
    assert why, "say why a statement reads across tenants"
    return statement.execution_options(**{DOOR: "system"})


class UnguardedRead(RuntimeError):
    """A protected model was selected without passing the door: a bug, never an answer to a client."""


def _unguarded(state: ORMExecuteState) -> type | None:
    """The protected model a select reads without having passed the door, if it does."""
    if not state.is_select or state.is_column_load or state.is_relationship_load:
        return None
    if state.execution_options.get(DOOR):
        return None
    for mapper in state.all_mappers:
        if getattr(mapper.class_, "__resource__", None) is not None:
            return mapper.class_
    # A statement with no entity column (`select(func.count()).select_from(Opportunity)`) names its tables only.
    statement = state.statement
    froms = statement.get_final_froms() if isinstance(statement, Select) else []
    protected_tables = {model.__table__: model for model in PROTECTED.values()}  # type: ignore[attr-defined]
    for from_ in froms:
        for table in _tables_read(from_):
            if table in protected_tables:
                return protected_tables[table]
    return None


def _tables_read(from_: Any) -> Iterator[Any]:
    """The tables a FROM item reads rows of: itself, both sides of a join, the FROM of a subquery (not the
    subqueries of its conditions, which narrow rows rather than return them)."""
    if isinstance(from_, Table):
        yield from_
    elif isinstance(from_, Join):
        yield from _tables_read(from_.left)
        yield from _tables_read(from_.right)
    elif isinstance(from_, FromClause) and hasattr(from_, "element"):
        inner = from_.element
        if isinstance(inner, Select):
            for nested in inner.get_final_froms():
                yield from _tables_read(nested)
        else:
            yield from _tables_read(inner)


def _refuse(state: ORMExecuteState) -> None:
    model = _unguarded(state)
    if model is not None:
        raise UnguardedRead(
            f"{model.__name__} was selected outside the door: read it through a UnitOfWork "
            "(uow.visible, uow.get, uow.load) or a system_access."
        )


def _record(state: ORMExecuteState) -> None:
    model = _unguarded(state)
    if model is None:
        return
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    chain: list[str] = []
    # SQLAlchemy runs the session's code in a greenlet; the calling coroutines are on its parent's stack.
    current = greenlet.getcurrent()
    frame = current.parent.gr_frame if current.parent is not None else sys._getframe()
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(root) and "/.venv/" not in name and not name.endswith(__file__):
            chain.append(f"{os.path.relpath(name, root)}:{frame.f_lineno}")
        frame = frame.f_back
    with open(os.environ.get("CRM_DOOR_GUARD_LOG", "door-guard.log"), "a") as log:
        log.write(f"{model.__name__} {' < '.join(chain[:4]) or '?'}\n")


def guard_protected_reads(mode: str | None = None) -> None:
    """Refuse (or, while code moves behind the door, record) a protected select that did not pass the door.

    The mode comes from CRM_DOOR_GUARD: "raise" (the default), "record" (append to CRM_DOOR_GUARD_LOG) or "off".
    Idempotent; a later call changes the mode.
    """
    mode = mode or os.environ.get("CRM_DOOR_GUARD", "raise")
    for listener in (_refuse, _record):
        if event.contains(Session, "do_orm_execute", listener):
            event.remove(Session, "do_orm_execute", listener)
    if mode == "raise":
        event.listen(Session, "do_orm_execute", _refuse)
    elif mode == "record":
        event.listen(Session, "do_orm_execute", _record)
