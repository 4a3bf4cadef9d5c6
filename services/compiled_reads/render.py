"""A plan rendered as one SQL statement that builds the response's JSON in PostgreSQL.

Every record is read by its own resource's row rule, taken from the door (`UnitOfWork.rows`), the same
predicate the resolvers' loaders apply; a to-one record the viewer may not see is null, as from its resolver.
A root connection is read as the resolvers read it: the domain's query function, bounded by the cursors and
limited to one row more than the page, in the list's ordering; its cursors and global ids are written by
PostgreSQL in exactly the bytes `domain.shared.pagination` and `api.graphql.relay` write them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    FromClause,
    Select,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    literal_column,
    null,
    select,
    type_coerce,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BooleanClauseList, Grouping
from sqlalchemy.sql.selectable import ScalarSelect
from sqlalchemy.sql.visitors import iterate
from sqlalchemy.types import JSON, Date, DateTime, Enum, Integer, Numeric

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import UnitOfWork, per_row, resource_of
from domain.commerce import balances
from domain.selling import analytics
from domain.selling.stages import ForecastCategory, Stage
from domain.shared.pagination import Ordering, PageRequest, SortDirection, any_at_or_beyond, bounded
from services.compiled_reads.plan import (
    ForecastRoot,
    ListRoot,
    NodeRoot,
    NotCompiled,
    Pick,
    ReceivablesRoot,
    Root,
    TypenameRoot,
)
from services.compiled_reads.shapes import (
    SHAPES,
    ChildConnection,
    ChildList,
    Column,
    GlobalId,
    IsClosed,
    Kind,
    MoneyOf,
    Shape,
    ToOne,
)

# A row source: the column of that name, of a table or of a subquery.
Columns = Callable[[str], ColumnElement[Any]]
# json_build_object takes at most 100 arguments: 50 keys and values.
MAX_KEYS = 50
CLOSED_STAGES = [s.name for s in Stage if s.is_closed]


def sql_text(value: str) -> ColumnElement[Any]:
    """A string constant written into the statement (keys and type names: GraphQL names, no quotes in them)."""
    if "'" in value or "\\" in value:
        raise NotCompiled(f"unexpected character in {value!r}")
    return literal_column(f"'{value}'::text", Text)


def base64url(payload: ColumnElement[Any]) -> ColumnElement[Any]:
    """Unpadded base64url of a text's UTF-8 bytes, as Python's `urlsafe_b64encode(...).rstrip("=")` writes it."""
    encoded = func.encode(func.convert_to(payload, sql_text("UTF8")), sql_text("base64"))
    return func.translate(encoded, literal_column("E'+/=\\n'", Text), sql_text("-_"))


def global_id(type_name: str, record_id: ColumnElement[Any]) -> ColumnElement[Any]:
    return base64url(func.concat(sql_text(f"{type_name}:"), cast(record_id, Text)))


def iso_instant(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A timestamp as Python's `datetime.isoformat()` writes a UTC one: microseconds only when there are some."""
    utc = value.op("AT TIME ZONE")(sql_text("UTC"))
    fraction = case(
        (
            cast(func.date_part(sql_text("microseconds"), value), Integer) % 1_000_000 != 0,
            func.to_char(utc, sql_text(".US")),
        ),
        else_=sql_text(""),
    )
    written = func.concat(
        func.to_char(utc, literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'", Text)), fraction, sql_text("+00:00")
    )
    return case((value.is_(None), null()), else_=written)


def cents(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A sum as text, rounded to the cent half to even, as `Decimal.quantize(Decimal("0.01"))` rounds it."""
    hundredths = func.coalesce(value, 0) * 100
    whole = func.floor(hundredths)
    rest = hundredths - whole
    rounded = case(
        (rest > 0.5, whole + 1),
        (rest < 0.5, whole),
        (func.mod(whole, 2) == 0, whole),
        else_=whole + 1,
    )
    return cast(cast(rounded / 100, Numeric(38, 2)), Text)


def picked(picks: tuple[Pick, ...], values: dict[str, Any], what: str) -> ColumnElement[Any]:
    """An object of leaf fields: each pick's value by its name, `__typename` as the planner knows it."""
    pairs: list[tuple[str, Any]] = []
    for pick in picks:
        if pick.typename is not None:
            pairs.append((pick.key, sql_text(pick.typename)))
        elif pick.name in values:
            pairs.append((pick.key, values[pick.name]))
        else:
            raise NotCompiled(f"{what}.{pick.name}")
    return json_object(pairs)


def json_object(pairs: list[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
    if len(pairs) > MAX_KEYS:
        raise NotCompiled("too many fields in one object")
    arguments: list[Any] = []
    for key, value in pairs:
        arguments += [sql_text(key), value]
    return func.json_build_object(*arguments, type_=JSON)


# A row rule as the door gives it: the resource and the action.
RuleKey = tuple[Resource, Action]


def reads_a_set(predicate: ColumnElement[Any]) -> bool:
    """The rule reads rows of its own (`x IN (SELECT ...)`, EXISTS): what makes evaluating it twice cost twice."""
    return any(isinstance(element, (Select, ScalarSelect)) for element in iterate(predicate))


def alternatives(predicate: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """The rule as the alternatives it allows: `t AND (a OR b)` is `t AND a` or `t AND b`; a rule without one OR as is.

    A row satisfies the rule exactly when it satisfies one of them (an OR is true when one of its terms is), so the
    union of their rows is the rule's rows.
    """

    def ungrouped(element: Any) -> Any:
        return ungrouped(element.element) if isinstance(element, Grouping) else element

    def is_list(element: Any, operator: Any) -> bool:
        return isinstance(element, BooleanClauseList) and element.operator is operator

    def terms(element: Any) -> list[Any]:
        element = ungrouped(element)
        if is_list(element, operators.or_):
            return [t for clause in element.clauses for t in terms(clause)]
        return [element]

    outer = ungrouped(predicate)
    if is_list(outer, operators.or_):
        return terms(outer)
    if not is_list(outer, operators.and_):
        return [predicate]
    clauses = [ungrouped(c) for c in outer.clauses]
    ors = [c for c in clauses if is_list(c, operators.or_)]
    if len(ors) != 1:
        return [predicate]
    rest = [c for c in clauses if c is not ors[0]]
    return [and_(*rest, term) for term in terms(ors[0])]


class RuleSets(UnitOfWork):
    """The unit of work the domain's list queries are built on: a rule they ask for more than once is read once.

    PostgreSQL evaluates each copy of a rule in a statement by itself: a distributor's orders rule hashed its
    50,000 partner-linked deals for the orders page, again for their count and again for the receivables (17-20 ms
    each in EXPLAIN ANALYZE at the bench's 100k opportunities), where the floor's hand-written statement builds
    the visible orders once. A rule in `shared` becomes the ids of its rows in one MATERIALIZED common table
    expression (PostgreSQL would otherwise inline it into each use), and every use of it `tenant_id = :tenant AND
    id IN (SELECT id FROM it)`: the same rows, since (tenant_id, id) is the key. The set is the UNION of the rule's
    alternatives, each its own query: a link (`opportunity_id IN (partner-linked deals)`) outside an OR is a
    semi-join the planner can order, where inside one it is a set hashed whole and probed per row (the
    distributor's 500 visible orders: 11-16 ms as a union, 16-20 ms as one OR, at 100k and at 1M). Rules that
    read no other rows (a tenant, an owner) stay as they are: they cost nothing to repeat, and a scan of the
    shared set would cost more than the rule. `asked` counts the set-reading rules asked for, to choose `shared`.
    """

    def __init__(self, uow: UnitOfWork, shared: frozenset[RuleKey], name: Callable[[str], str]) -> None:
        super().__init__(uow.session, uow.access)
        self.shared_rules = shared
        self.asked: Counter[RuleKey] = Counter()
        self.rule_sets: dict[RuleKey, CTE] = {}
        self.cte_name = name

    def rows(self, model: type, action: Action = Action.READ, *, resource: Resource | None = None) -> Any:
        predicate = super().rows(model, action, resource=resource)
        table = getattr(model, "__table__", None)
        own = getattr(model, "__resource__", None)
        if table is None or own is None or (resource is not None and resource is not own):
            return predicate  # a rule over another resource's table: left as the door wrote it
        key = (resource_of(model), action)
        if not reads_a_set(predicate):
            return predicate
        self.asked[key] += 1
        if key not in self.shared_rules:
            return predicate
        rule_set = self.rule_sets.get(key)
        if rule_set is None:
            each = [select(table.c.id).where(term) for term in alternatives(predicate)]
            ids = each[0] if len(each) == 1 else union(*each)
            rule_set = ids.cte(self.cte_name("rows")).prefix_with("MATERIALIZED")
            self.rule_sets[key] = rule_set
        return and_(table.c.tenant_id == self.tenant_id, table.c.id.in_(select(rule_set.c.id)))

    def visible_few(self, model: type, action: Action = Action.READ) -> Select[Any]:
        # A few rows are probed one by one through their keys: the door's rule, never a scan of the shared set.
        return self.mark(select(model).where(per_row(UnitOfWork.rows(self, model, action))))


def _link(model: Any, column: str) -> str:
    """A foreign key as `UnitOfWork.rows_reached` names it: "table.column"."""
    return f"{model.__tablename__}.{column}"


@dataclass
class Renderer:
    """Renders the roots of one plan for one actor's unit of work.

    `uow` answers the rules the renderer applies row by row (`per_row`: a node, a to-one record, a record's
    children); `lists` is handed to the domain's list and aggregate queries, sharing the rules in `shared`.
    """

    uow: UnitOfWork
    shared: frozenset[RuleKey] = frozenset()
    named: int = 0
    lists: RuleSets = field(init=False)

    def __post_init__(self) -> None:
        self.lists = RuleSets(self.uow, self.shared, self.name)

    def statement(self, roots: tuple[Root, ...]) -> Select[Any]:
        # As text: the driver would decode json into Python objects, only for them to be encoded again.
        columns: list[Any] = [cast(self.root(r), Text).label(f"r{i}") for i, r in enumerate(roots)]
        return select(*columns)

    def root(self, root: Root) -> ColumnElement[Any]:
        if isinstance(root, TypenameRoot):
            return literal_column(f"'\"{root.typename}\"'::text", Text) if root.typename.isidentifier() else null()
        if isinstance(root, ForecastRoot):
            return self.forecast(root)
        if isinstance(root, ReceivablesRoot):
            return self.receivables(root)
        if isinstance(root, NodeRoot):
            shape = SHAPES[root.type_name]
            model = shape.model
            table = model.__table__  # type: ignore[attr-defined]
            found = (
                select(self.record(root.type_name, root.picks, table.c.__getitem__, (table,), read=model))
                .select_from(table)
                .where(
                    table.c.tenant_id == self.uow.tenant_id, table.c.id == root.record_id, per_row(self.uow.rows(model))
                )
            )
            return found.scalar_subquery()
        return self.connection(root)

    # A record --------------------------------------------------------------------------------------------------

    def record(
        self, type_name: str, picks: tuple[Pick, ...], columns: Columns, tables: tuple[Any, ...], *, read: Any = None
    ) -> Any:
        """The record's JSON object. `read` is its model when the row was read under the actor's own read rule
        (a node, a to-one record, a record's children): what it names or holds may then be read under the rules
        that rule leaves to prove (`UnitOfWork.rows_reached`). A list's rows come from the domain's queries, and
        a page's from a window over them: their records pass no `read`, and what they name carries its whole rule.
        """
        shape = SHAPES[type_name]
        return json_object([(p.key, self.value(type_name, shape, p, columns, tables, read)) for p in picks])

    def value(
        self, type_name: str, shape: Shape, pick: Pick, columns: Columns, tables: tuple[Any, ...], read: Any = None
    ) -> Any:
        if pick.typename is not None:
            return sql_text(pick.typename)
        field = shape.fields.get(pick.name)
        match field:
            case GlobalId():
                return global_id(type_name, columns("id"))
            case Column(column=name):
                column = columns(name)
                if field.kind is Kind.DECIMAL or isinstance(column.type, Numeric):
                    return cast(column, Text)
                if isinstance(column.type, DateTime):
                    return iso_instant(column)
                return column
            case IsClosed():
                return columns("stage").in_(CLOSED_STAGES)
            case MoneyOf(amount=amount, currency=currency):
                money = picked(
                    pick.children, {"amount": cast(columns(amount), Text), "currency": columns(currency)}, "Money"
                )
                return case((columns(amount).is_(None), null()), else_=money)
            case ToOne(type_name=target, column=column):
                return self.to_one(target, column, pick, columns, tables, read)
            case ChildList():
                return self.child_list(field, pick, columns, tables, read)
            case ChildConnection():
                return self.child_connection(field, pick, columns, tables, read)
        raise NotCompiled(f"{type_name}.{pick.name}")

    def to_one(
        self, target: str, column: str, pick: Pick, columns: Columns, tables: tuple[Any, ...], read: Any = None
    ) -> Any:
        shape = SHAPES.get(target)
        if shape is None or getattr(shape.model, "__resource__", None) is None:
            raise NotCompiled(f"{target} is not read by a row rule of its own")
        model = shape.model
        table = model.__table__  # type: ignore[attr-defined]
        if table in tables:
            # The same table again below itself would shadow the outer one's columns.
            raise NotCompiled(f"{target} nested in itself")
        rule = self.uow.rows(model) if read is None else self.uow.rows_reached(model, read, _link(read, column))
        inner = (
            select(self.record(target, pick.children, table.c.__getitem__, (*tables, table), read=model))
            .select_from(table)
            .where(table.c.tenant_id == columns("tenant_id"), table.c.id == columns(column), per_row(rule))
        )
        return inner.scalar_subquery()

    # The forecast ------------------------------------------------------------------------------------------------

    def forecast(self, root: ForecastRoot) -> ColumnElement[Any]:
        """The forecast's currency and its categories with deals, in the categories' order, sums to the cent."""
        totals_query = analytics.category_totals(self.lists, root.start, root.end, root.currency)
        totals = totals_query.subquery(self.name("totals"))
        order = case({c.name: i for i, c in enumerate(ForecastCategory)}, value=cast(totals.c.category, Text))
        pairs: list[tuple[str, Any]] = []
        for pick in root.picks:
            if pick.typename is not None:
                pairs.append((pick.key, sql_text(pick.typename)))
            elif pick.name == "currency":
                pairs.append((pick.key, sql_text(root.currency)))
            elif pick.name == "byCategory":
                values = {
                    "category": totals.c.category,
                    "count": totals.c.count,
                    "amount": cents(totals.c.amount),
                    "weightedAmount": cents(totals.c.weighted),
                }
                bucket = picked(pick.children, values, "ForecastBucket")
                listed = (
                    select(func.json_agg(aggregate_order_by(bucket, order)))
                    .select_from(totals)
                    .where(totals.c.count > 0)
                )
                pairs.append((pick.key, func.coalesce(listed.scalar_subquery(), literal_column("'[]'::json", JSON))))
            else:
                raise NotCompiled(f"Forecast.{pick.name}")
        return json_object(pairs)

    def receivables(self, root: ReceivablesRoot) -> ColumnElement[Any]:
        """The receivables per currency, in currency order, each amount rounded to the cent (half up)."""
        query = balances.totals_query(balances.installments_of_visible_business(self.lists), root.today)
        totals = query.subquery(self.name("receivables"))
        currency, *amounts = totals.c
        by_name = dict(zip(("planned", "billed", "paid", "due", "overdue"), amounts, strict=True))
        pairs: list[tuple[str, Any]] = []
        for pick in root.picks:
            if pick.typename is not None:
                pairs.append((pick.key, sql_text(pick.typename)))
                continue
            amount = by_name.get(pick.name)
            if amount is None:
                raise NotCompiled(f"Receivables.{pick.name}")
            money = {"amount": cast(func.round(amount, 2), Text), "currency": currency}
            pairs.append((pick.key, picked(pick.children, money, "Money")))
        listed = select(func.json_agg(aggregate_order_by(json_object(pairs), currency))).select_from(totals)
        return func.coalesce(listed.scalar_subquery(), literal_column("'[]'::json", JSON))

    # A root connection -----------------------------------------------------------------------------------------

    def connection(self, root: ListRoot) -> ColumnElement[Any]:
        if root.page.backward or root.page.before is not None:
            raise NotCompiled("backward pages")
        return self.page(root.query(self.lists), root.ordering, root.page, root.picks, root.type_name, ())

    def name(self, base: str) -> str:
        """A derived table's name, unique in the statement (nested pages must not shadow each other's)."""
        self.named += 1
        return f"crm_{base}_{self.named}"

    def page(
        self,
        stmt: Select[Any],
        ordering: Ordering,
        page: PageRequest,
        picks: tuple[Pick, ...],
        type_name: str,
        outer: tuple[Any, ...],
    ) -> ColumnElement[Any]:
        """One forward page of `stmt` as a connection's JSON; `outer` are the tables `stmt` refers to around it."""
        windowed, positions = bounded(stmt, ordering, page)
        window = (
            windowed.correlate(*outer).subquery(self.name("window"))
            if outer
            else windowed.subquery(self.name("window"))
        )
        sort_name, id_name = ordering.sort_column.key, ordering.id_column.key
        descending = ordering.direction is SortDirection.DESC
        sort, ident = window.c[sort_name], window.c[id_name]
        order = (sort.desc().nulls_first(), ident.desc()) if descending else (sort.asc().nulls_last(), ident.asc())
        number = func.row_number().over(order_by=order).label("crm_rn")
        numbered = select(window, number).subquery(self.name("page"))
        rn = numbered.c.crm_rn
        size = page.size
        cursor = self.cursor(ordering, numbered.c[sort_name], numbered.c[id_name])
        wanted = self.connection_needs(picks)
        aggregates: list[Any] = [(func.count() > size).label("more")]
        if "edges" in wanted:
            edge = self.edge(type_name, wanted["edges"], numbered, cursor)
            aggregates.append(func.json_agg(aggregate_order_by(edge, rn)).filter(rn <= size).label("edges"))
        if "cursors" in wanted:
            cursors = type_coerce(func.array_agg(aggregate_order_by(cursor, rn)).filter(rn <= size), ARRAY(Text))
            aggregates.append(cursors.label("cursors"))
        summary = select(*aggregates).select_from(numbered).subquery(self.name("summary"))
        pairs: list[tuple[str, Any]] = []
        for pick in picks:
            if pick.typename is not None:
                pairs.append((pick.key, sql_text(pick.typename)))
            elif pick.name == "totalCount":
                counted = stmt.order_by(None)
                counted = counted.correlate(*outer) if outer else counted
                total = select(func.count()).select_from(counted.subquery(self.name("all")))
                pairs.append((pick.key, total.scalar_subquery()))
            elif pick.name == "edges":
                pairs.append((pick.key, func.coalesce(summary.c.edges, literal_column("'[]'::json", JSON))))
            elif pick.name == "pageInfo":
                previous: Any = false()
                if positions.after is not None:
                    previous = any_at_or_beyond(stmt, ordering, positions.after, toward_end=False).scalar_subquery()
                info = {
                    "hasNextPage": summary.c.more,
                    "hasPreviousPage": previous,
                    "startCursor": summary.c.cursors[1] if "cursors" in wanted else null(),
                    "endCursor": summary.c.cursors[func.array_length(summary.c.cursors, 1)]
                    if "cursors" in wanted
                    else null(),
                }
                pairs.append((pick.key, picked(pick.children, info, "PageInfo")))
            else:
                raise NotCompiled(f"Connection.{pick.name}")
        return select(json_object(pairs)).select_from(summary).scalar_subquery()

    def child_list(
        self, field: ChildList, pick: Pick, columns: Columns, tables: tuple[Any, ...], read: Any = None
    ) -> Any:
        """Every child row of the record, in order, as a JSON array (empty when there is none)."""
        model = field.model
        table = model.__table__  # type: ignore[attr-defined]
        protected = getattr(model, "__resource__", None) is not None
        if protected and read is not None:
            rows = per_row(self.uow.rows_reached(model, read, _link(model, field.parent)))
        else:
            rows = per_row(self.uow.child_rows(model, parent_visible=not protected))
        conditions = [table.c.tenant_id == columns("tenant_id"), table.c[field.parent] == columns("id"), rows]
        if field.visible is not None:
            column, target = field.visible
            target_model = SHAPES[target].model
            visible = select(target_model.id).where(self.uow.rows(target_model))  # type: ignore[attr-defined]
            conditions.append(per_row(table.c[column].in_(visible)))
        record = self.record(
            field.type_name, pick.children, table.c.__getitem__, (*tables, table), read=model if protected else None
        )
        ordered = aggregate_order_by(record, table.c[field.order], table.c.id)
        listed = select(func.json_agg(ordered)).select_from(table).where(*conditions)
        return func.coalesce(listed.scalar_subquery(), literal_column("'[]'::json", JSON))

    def child_connection(
        self, field: ChildConnection, pick: Pick, columns: Columns, tables: tuple[Any, ...], read: Any = None
    ) -> Any:
        """A nested connection's first page, as its resolver reads it from the first-page and count loaders."""
        if pick.page is None:
            raise NotCompiled("a nested page without its arguments")
        model: Any = field.model
        rule = (
            self.uow.child_rows(model)
            if read is None
            else self.uow.rows_reached(model, read, _link(model, field.parent))
        )
        stmt: Select[Any] = select(model).where(
            per_row(rule),
            getattr(model, field.parent) == columns("id"),
            model.tenant_id == columns("tenant_id"),
        )
        ordering = Ordering(field.connection, getattr(model, field.sort), model.id, SortDirection.DESC)
        parent = columns("id")
        return self.page(stmt, ordering, pick.page, pick.children, field.type_name, (parent.table,))

    @staticmethod
    def connection_needs(picks: tuple[Pick, ...]) -> dict[str, Any]:
        wanted: dict[str, Any] = {}
        for pick in picks:
            if pick.name == "edges":
                if "edges" in wanted:
                    raise NotCompiled("edges selected twice")
                wanted["edges"] = pick.children
            if pick.name == "pageInfo" and any(c.name in ("startCursor", "endCursor") for c in pick.children):
                wanted["cursors"] = True
        return wanted

    def edge(self, type_name: str, picks: tuple[Pick, ...], numbered: FromClause, cursor: Any) -> Any:
        pairs: list[tuple[str, Any]] = []
        for pick in picks:
            if pick.typename is not None:
                pairs.append((pick.key, sql_text(pick.typename)))
            elif pick.name == "cursor":
                pairs.append((pick.key, cursor))
            elif pick.name == "node":
                pairs.append((pick.key, self.record(type_name, pick.children, numbered.c.__getitem__, ())))
            else:
                raise NotCompiled(f"Edge.{pick.name}")
        return json_object(pairs)

    @staticmethod
    def cursor(ordering: Any, sort: ColumnElement[Any], ident: ColumnElement[Any]) -> ColumnElement[Any]:
        """The row's cursor: `encode_cursor(value, id, signature)` written by PostgreSQL, byte for byte."""
        column_type = ordering.sort_column.type
        text: ColumnElement[Any]
        value: ColumnElement[Any]
        if isinstance(column_type, DateTime):
            tag, text = "dt", func.concat(sql_text('"'), iso_instant(sort), sql_text('"'))
        elif isinstance(column_type, Date):
            tag, text = "d", cast(func.to_json(sort), Text)
        elif isinstance(column_type, Numeric) and not isinstance(column_type, Integer):
            tag, text = "dec", cast(func.to_json(cast(sort, Text)), Text)
        elif isinstance(column_type, Integer):
            tag, text = "i", cast(sort, Text)
        elif isinstance(column_type, (Enum, Text)) or hasattr(column_type, "length"):
            tag, text = "s", cast(func.to_json(cast(sort, Text)), Text)
        else:
            raise NotCompiled(f"cursor over {column_type!r}")
        value = func.concat(sql_text(f'{{"t":"{tag}","v":'), text, sql_text("}"))
        if getattr(ordering.sort_column.expression, "nullable", True):
            value = case((sort.is_(None), sql_text('{"t":"n","v":null}')), else_=value)
        payload = func.concat(
            sql_text("["),
            value,
            sql_text(',"'),
            func.replace(cast(ident, Text), sql_text("-"), sql_text("")),
            sql_text(f'","{ordering.signature}"]'),
        )
        return base64url(payload)


@dataclass(frozen=True)
class CompiledStatement:
    """A rendered plan: its SQL for asyncpg ($1, $2, ...) and its parameters, in order, ready for the driver."""

    sql: str
    parameters: tuple[Any, ...]
    keys: tuple[str, ...]


def compile_plan(uow: UnitOfWork, roots: tuple[Root, ...], dialect: Dialect) -> CompiledStatement:
    """The one statement answering `roots` for the unit of work's actor.

    Rendered once to learn which set-reading rules the list queries ask for more than once, then, if any, again
    with those read once each (`RuleSets`).
    """
    first = Renderer(uow)
    statement = first.statement(roots)
    shared = frozenset(key for key, times in first.lists.asked.items() if times > 1)
    if shared:
        statement = Renderer(uow, shared).statement(roots)
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    processors: dict[str, Any] = dict(compiled._bind_processors)  # noqa: SLF001 - each parameter's driver form
    parameters = []
    for name in compiled.positiontup or ():
        value = compiled.params[name]
        # An IN list's values are expanded into parameters named after the list's ("stage_1" → "stage_1_2").
        processor = processors.get(name if name in compiled.binds else name.rsplit("_", 1)[0])
        parameters.append(processor(value) if processor is not None else value)
    return CompiledStatement(compiled.string, tuple(parameters), tuple(r.key for r in roots))
