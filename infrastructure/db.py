"""Engine and session factories for PostgreSQL through asyncpg, bounded by timeouts, and how to tell it is away."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import Enum
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from domain.access.unit_of_work import guard_protected_reads

if TYPE_CHECKING:
    import asyncpg

# When PostgreSQL itself cannot cancel a statement (it is frozen, or the network is), the driver gives up this much
# later than the server's statement_timeout would have, so a slow statement is the server's clean cancellation.
CLIENT_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long, in seconds, to wait on PostgreSQL; each bounds one way a request could otherwise hang."""

    connect: float = 5.0  # to open a connection and sign in
    statement: float | None = 30.0  # for one statement; PostgreSQL cancels it then (None: no limit, for migrations)
    idle_in_transaction: float = 60.0  # a transaction left idle this long ends its session
    pool: float = 10.0  # for a free connection of the pool

    ENVIRONMENT: ClassVar[dict[str, str]] = {
        "connect": "CRM_DB_CONNECT_TIMEOUT",
        "statement": "CRM_DB_STATEMENT_TIMEOUT",
        "idle_in_transaction": "CRM_DB_IDLE_IN_TRANSACTION_TIMEOUT",
        "pool": "CRM_DB_POOL_TIMEOUT",
    }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> DatabaseTimeouts:
        """The timeouts set by CRM_DB_*_TIMEOUT variables (seconds), the defaults for those unset."""
        values = {name: seconds_from_env(environ, variable) for name, variable in cls.ENVIRONMENT.items()}
        return cls(**{name: value for name, value in values.items() if value is not None})

    def connect_args(self) -> dict[str, object]:
        """asyncpg's connect arguments: its own timeouts, and the session settings PostgreSQL enforces."""
        server_settings = {"idle_in_transaction_session_timeout": str(round(self.idle_in_transaction * 1000))}
        args: dict[str, object] = {
            "timeout": self.connect,
            "server_settings": server_settings,
            # Statements run on the driver (the sign-in check, the charge, compiled reads, logActivity) are
            # prepared once per connection and kept in asyncpg's cache (100 a connection, as PostGraphile keeps),
            # which by default skips any over 15 KiB: a partner's compiled deal page or home (16-23 KiB of row
            # rules) was parsed and planned again by PostgreSQL on every request.
            "max_cacheable_statement_size": MAX_CACHEABLE_STATEMENT,
        }
        if self.statement is not None:
            server_settings["statement_timeout"] = str(round(self.statement * 1000))
            args["command_timeout"] = self.statement + CLIENT_GRACE_SECONDS
        return args


# How PostgreSQL's planner prices reading a page out of order, for the service's own sessions
# (CRM_DB_RANDOM_PAGE_COST to change it). PostgreSQL's default, 4, is the price of a seek on a spinning disk. With it,
# the planner took probing a few rows' links by index for dearer than hashing all the links: a distributor's orders
# rule (the partner links of the deals of the tenant's 1,000 orders) hashed the 50,000 links of its subtree, 13.9 ms,
# where probing each order's links takes 3.4 ms. Measured on the bench's heaviest statements, a distributor's, run
# prepared on one connection (ms; issue #14):
#
#   random_page_cost                 4        2      1.1
#   partner home, 100k / 1M        20 / 55  11 / 43  9 / 24
#   forecast, 100k / 1M            43 / 218 38 / 245 73 / 268
#   opportunity count, 1M            260      192      235
#
# 1.1, the usual value for SSD storage, also makes the forecast read a quarter of the deals through the close-date
# index instead of a parallel scan; 2 takes the probes without that.
RANDOM_PAGE_COST = 2.0


def planner_settings(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The planner's session settings: `random_page_cost` from CRM_DB_RANDOM_PAGE_COST, RANDOM_PAGE_COST unset."""
    cost = number_from_env(
        environ, "CRM_DB_RANDOM_PAGE_COST", above=0, at_most=1000, wanted="a number above 0 and at most 1000, such as 2"
    )
    return {"random_page_cost": str(RANDOM_PAGE_COST if cost is None else cost)}


# The largest statement asyncpg keeps prepared on a connection (its default is 15 KiB).
MAX_CACHEABLE_STATEMENT = 256 * 1024

# Migrations may rewrite big tables; only reaching the database is bounded for them.
MIGRATION_TIMEOUTS = DatabaseTimeouts(statement=None, idle_in_transaction=3600.0)


def seconds_from_env(environ: Mapping[str, str], variable: str) -> float | None:
    """A positive number of seconds under a day from an environment variable, None when it is unset or empty."""
    return number_from_env(
        environ, variable, above=0, at_most=86_400, wanted="a number of seconds above 0 and at most 86400, such as 30"
    )


def number_from_env(
    environ: Mapping[str, str], variable: str, *, above: float, at_most: float, wanted: str
) -> float | None:
    """A number in (`above`, `at_most`] from an environment variable, None when it is unset or empty; any other value
    is refused with a message naming the variable, what it wants (`wanted`) and what it was given."""
    raw = environ.get(variable, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not above < value <= at_most:
        raise ValueError(f"{variable} must be {wanted}; not {raw!r}.")
    return value


def async_url(url: str) -> str:
    """Turn any PostgreSQL URL (postgres://, postgresql://, +psycopg…) into an asyncpg one."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


async def connect_raw(url: str) -> asyncpg.Connection:
    """A plain asyncpg connection from any PostgreSQL URL (unix-socket URLs included), for work beside the ORM:
    PgQueuer's listener, COPY in the benchmark, creating databases in the tests."""
    import asyncpg

    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    hosts = parsed.query.get("host")  # a tuple when the URL names several
    return await asyncpg.connect(
        user=parsed.username or "postgres",
        password=parsed.password,
        host=(list(hosts) if isinstance(hosts, tuple) else hosts) or parsed.host,
        port=parsed.port,
        database=parsed.database or "postgres",
        timeout=DatabaseTimeouts.from_env().connect,
    )


def create_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, timeouts: DatabaseTimeouts | None = None
) -> AsyncEngine:
    """An async engine with a bounded pool and bounded waits; statements are prepared and cached by asyncpg.

    The timeouts default to those of the environment (`DatabaseTimeouts.from_env`).

    The pool opens up to twice `pool_size` connections, as many as `pool_size` plus an overflow of the same size
    did, and keeps every one it opened (`max_overflow=0`). With an overflow, a connection opened at a burst was
    closed as soon as it came back to a full pool, so any load above `pool_size` concurrent requests (16 clients
    against 10) opened and closed connections all the time: about one for every ten requests, each a new server
    process that loads its catalogue caches, has asyncpg look up its types again and prepares every kept
    statement afresh, which PostgreSQL then plans for each of its first five runs before it settles on a generic
    plan (a partner's compiled deal page, 16-19 KiB of row rules: 10-15 ms a plan, then 0.5-1 ms a run). That
    cost 100 ms of CPU or more per connection, 7-14 ms per request on the deal page and the partner home, in
    server processes that ended before any CPU figure saw them. Connections are handed out last in, first out,
    so a light load keeps using the few whose statements are prepared and leaves the rest idle.

    A pooled connection is checked without a statement when it is handed out (`_refuse_closed_connection`), not
    pinged: SQLAlchemy's pre-ping costs every checkout a round trip of three statements (BEGIN, `;`, ROLLBACK),
    as many as a whole read request may spend. A connection the server ended (a restart, an operator) is closed
    in asyncpg as soon as the event loop reads the end of its socket, and replaced on checkout; one that stopped
    answering (a frozen server, a lost network) fails its first statement within the statement timeout and its
    grace, the same bound a ping had, and a disconnect then makes the pool replace every older connection.
    """
    timeouts = timeouts or DatabaseTimeouts.from_env()
    connect_args = timeouts.connect_args()
    connect_args["server_settings"] = {**planner_settings(), **connect_args["server_settings"]}  # type: ignore[dict-item]
    engine = create_async_engine(
        async_url(url),
        pool_size=2 * pool_size,
        max_overflow=0,
        pool_use_lifo=True,
        pool_timeout=timeouts.pool,
        echo=echo,
        pool_pre_ping=False,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    return engine


def _refuse_closed_connection(_dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    """A pooled connection whose socket asyncpg saw close is not handed out; the pool connects anew instead."""
    driver_connection = record.driver_connection  # asyncpg's Connection, under SQLAlchemy's adapter
    if driver_connection is not None and driver_connection.is_closed():
        raise sa_exc.DisconnectionError("The pooled connection was closed by the server.")


def on_database_answered(engine: AsyncEngine, listener: Callable[[], None]) -> None:
    """Call `listener` each time the database answered: a new connection signed in, or a statement ran.

    Not on checkout: with no pre-ping (see `create_engine`), a connection handed out has not answered yet.
    """
    event.listen(engine.sync_engine, "connect", lambda *_: listener())
    event.listen(engine.sync_engine, "after_cursor_execute", lambda *_: listener())


class DatabaseTrouble(Enum):
    """Why a statement failed without being at fault itself."""

    UNREACHABLE = "unreachable"  # no connection could be made, it was lost, or no answer came in time
    STATEMENT_TIMEOUT = "statement_timeout"  # PostgreSQL cancelled a statement that ran past statement_timeout


def database_trouble(error: BaseException) -> DatabaseTrouble | None:
    """Whether this failure (or one it came from) is the database being away or too slow, rather than a bug."""
    found = database_trouble_cause(error)
    return found[0] if found else None


def database_trouble_cause(error: BaseException) -> tuple[DatabaseTrouble, BaseException] | None:
    """The database trouble behind this failure and the error that shows it (the driver's, where there is one)."""
    causes = list(_causes(error))
    for cause in causes:
        trouble = _trouble_of(cause)
        if trouble is not None:
            return trouble, cause
    for cause in causes:  # SQLAlchemy's word alone, when the driver's own error is not in the chain
        if isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated:
            return DatabaseTrouble.UNREACHABLE, cause
    return None


def _trouble_of(error: BaseException) -> DatabaseTrouble | None:
    import asyncpg

    if isinstance(error, asyncpg.QueryCanceledError):
        return DatabaseTrouble.STATEMENT_TIMEOUT
    if isinstance(
        error,
        (
            asyncpg.PostgresConnectionError,  # lost mid-statement, refused, or rejected at sign-in
            asyncpg.CannotConnectNowError,  # starting up, shutting down, in recovery
            asyncpg.AdminShutdownError,  # terminated by a shutdown or by an operator
            asyncpg.CrashShutdownError,
            asyncpg.TooManyConnectionsError,
            sa_exc.TimeoutError,  # no free connection in the pool within pool_timeout
        ),
    ):
        return DatabaseTrouble.UNREACHABLE
    if isinstance(error, asyncpg.InterfaceError) and "connection is closed" in str(error):
        return DatabaseTrouble.UNREACHABLE
    # Sockets failing, and the driver's own connect and command timeouts (TimeoutError is an OSError); only when
    # raised inside the driver, so that an ERP call timing out is not mistaken for them.
    if isinstance(error, OSError) and _raised_in(error.__traceback__, "asyncpg"):
        return DatabaseTrouble.UNREACHABLE
    return None


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, what it was raised from or during, and the members of exception groups, each once."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        stack.extend(e for e in (current.__cause__, current.__context__, getattr(current, "orig", None)) if e)
        original = getattr(current, "original_error", None)  # graphql-core's located errors
        if isinstance(original, BaseException):
            stack.append(original)


def _raised_in(traceback: TracebackType | None, package: str) -> bool:
    """Whether the traceback passes through the package's code."""
    while traceback is not None:
        module = str(traceback.tb_frame.f_globals.get("__name__", ""))
        if module.split(".", 1)[0] == package:
            return True
        traceback = traceback.tb_next
    return False


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on the engine; every one refuses a protected read that did not pass the door."""
    guard_protected_reads()
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A unit of work: commits when the block ends normally, rolls back on any error."""
    async with sessions() as session, session.begin():
        yield session


def autocommit(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """A session factory like `sessions` whose sessions run each statement on its own, with no transaction.

    A read that needs no transaction then costs its statements alone: no BEGIN before them, no ROLLBACK after.
    """
    settings = dict(sessions.kw)
    engine = settings.pop("bind")
    key = id(engine)
    found = _AUTOCOMMIT.get(key)
    if found is None or found[0] is not engine:
        found = (engine, engine.execution_options(isolation_level="AUTOCOMMIT"))
        _AUTOCOMMIT[key] = found
    return async_sessionmaker(bind=found[1], class_=sessions.class_, **settings)


_AUTOCOMMIT: dict[int, tuple[AsyncEngine, AsyncEngine]] = {}
