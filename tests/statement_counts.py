"""Counting the SQL statements PostgreSQL receives during a block: `async with statements_sent() as sent`.

Counted at the driver, from two sources that together see every statement and none twice:

- asyncpg's query loggers (`Connection.add_query_logger`) see what asyncpg sends outside a prepared statement:
  the BEGIN, COMMIT and ROLLBACK of SQLAlchemy's asyncpg adapter (`Transaction.start/commit/rollback` run them as
  simple queries), a pool pre-ping (`;`, in its own BEGIN/ROLLBACK unless the connection is in autocommit),
  `executemany`, and asyncpg's type introspection on a connection meeting a type for the first time;
- SQLAlchemy's `after_cursor_execute` (and `handle_error`, for a statement that failed) sees every statement the
  adapter runs as a prepared statement (`PreparedStatement.fetch`), which asyncpg's loggers do not see. Its
  `executemany` calls are left to the loggers, which see them already.

A logger is added to each new connection of every pool once this module is imported, so a test module that
imports it at collection time has every connection of the session covered; a connection made before that gets
its logger when it is next checked out. Every engine of the process is counted, so count one request at a time.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

# asyncpg's introspection of a type new to the connection (asyncpg/introspection.py), and the JIT switch around it.
_INTROSPECTION = re.compile(r"typeinfo_tree|current_setting\('jit'\)|set_config\('jit'")
# The logs being recorded now; asyncpg's loggers and the cursor listener append to each of them.
_recording: list[StatementLog] = []
# The asyncpg connections that have the logger (both classes use __slots__, so no mark can go on them).
_logged: weakref.WeakSet[Any] = weakref.WeakSet()


@dataclass
class StatementLog:
    """The statements one block sent, in the order the database received them."""

    statements: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.statements)

    def steady(self) -> list[str]:
        """The statements without asyncpg's type introspection, which a connection runs once for each type it has not
        met before (`typeinfo_tree`, with JIT set off and back around it): what a warm connection sends."""
        return [s for s in self.statements if not _INTROSPECTION.search(s)]

    def kinds(self) -> list[str]:
        """Each statement's first word (BEGIN, SELECT, INSERT, COMMIT, ROLLBACK; `;` for a ping)."""
        return [(s.split(None, 1) or [";"])[0].rstrip(";").upper() or ";" for s in self.statements]

    def __str__(self) -> str:
        return "\n".join(f"{i + 1:3}. {' '.join(s.split())[:160]}" for i, s in enumerate(self.statements))


def _from_asyncpg(record: Any) -> None:
    _append(record.query)


def _add_logger(dbapi_connection: Any) -> None:
    """Give an asyncpg connection (under SQLAlchemy's adapter) the logger, once."""
    raw = getattr(dbapi_connection, "_connection", None)  # the adapter's asyncpg Connection
    if raw is None or raw in _logged:
        return
    raw.add_query_logger(_from_asyncpg)
    _logged.add(raw)


@event.listens_for(Pool, "connect")
def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    _add_logger(dbapi_connection)


@event.listens_for(Pool, "checkout")
def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    _add_logger(dbapi_connection)


@event.listens_for(Engine, "after_cursor_execute")
def _from_cursor(_conn: Any, _cursor: Any, statement: str, _parameters: Any, _context: Any, executemany: bool) -> None:
    # After the statement, not before: the adapter sends a transaction's BEGIN inside the first statement's execute.
    if not executemany:  # asyncpg's `executemany` logs it itself
        _record_soon(statement)


@event.listens_for(Engine, "handle_error")
def _from_failed_cursor(context: Any) -> None:
    # Every engine of the process calls this, for any failure: read only what each kind of failure has.
    statement = getattr(context, "statement", None)
    if statement is not None and getattr(context, "cursor", None) is not None and not context.is_disconnect:
        _record_soon(statement)


def _record_soon(statement: str) -> None:
    if _recording:
        # Recorded the way asyncpg calls its loggers (`call_soon`), so the log keeps the order statements ran in.
        asyncio.get_running_loop().call_soon(_append, statement)


def _append(statement: str) -> None:
    for log in _recording:
        log.statements.append(statement)


@asynccontextmanager
async def statements_sent() -> AsyncIterator[StatementLog]:
    """Every statement this process sends to PostgreSQL (any engine, any task) while the block runs."""
    log = StatementLog()
    # Loggers of statements sent before the block may still be queued: let them run before recording starts.
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    _recording.append(log)
    try:
        yield log
    finally:
        # asyncpg calls its loggers with `call_soon`: let the last of them run before the count is read.
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        _recording.remove(log)
