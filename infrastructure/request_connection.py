"""One pooled driver connection for a request's fixed statements: its sign-in check, its charge, a kept read.

A request that is answered from statements already compiled (the sign-in check, the budget's charge and a kept
compiled read, see api/graphql/compiled/kept.py) needs no ORM session: checking a connection out of the pool for
each through a session costs about 0.2 ms of Python each time, more than the statements. `RequestConnection`
checks one out of the engine's own pool the first time a statement needs it and hands it back once, when the
request no longer needs it; every statement on it runs outside any transaction (autocommit), one at a time.

A connection whose statement failed or was cancelled is not handed back to the pool but closed: its state (a
statement cancelled mid-flight, a broken socket) is not known.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util.concurrency import greenlet_spawn

# Where a request keeps its RequestConnection: its ASGI scope's state.
STATE_KEY = "crm.request_connection"


class RequestConnection:
    """A request's one pooled connection, checked out on first use and handed back by `release`."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        engine = sessions.kw["bind"]
        assert isinstance(engine, AsyncEngine)
        self.engine = engine  # the pool of the request's sessions: it is theirs the connection comes from
        self._checked_out: PoolProxiedConnection | None = None

    @asynccontextmanager
    async def use(self) -> AsyncIterator[Any]:
        """The asyncpg connection for one statement (or a few, in order); a failure closes it."""
        if self._checked_out is None:
            self._checked_out = await self.engine.raw_connection()
        try:
            yield self._checked_out.driver_connection
        except BaseException:
            checked_out, self._checked_out = self._checked_out, None
            if checked_out is not None:
                await greenlet_spawn(checked_out.invalidate)
            raise

    async def release(self) -> None:
        """Hand the connection back to the pool, if one is checked out; the next `use` checks one out again."""
        checked_out, self._checked_out = self._checked_out, None
        if checked_out is not None:
            await greenlet_spawn(checked_out.close)


def request_connection(state: dict[str, Any]) -> RequestConnection | None:
    """The request's connection holder, when its middleware made one."""
    found = state.get(STATE_KEY)
    return found if isinstance(found, RequestConnection) else None
