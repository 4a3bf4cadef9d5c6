"""One GraphQL request's sessions: its reads share one session outside any transaction, its writes get their own.

Strawberry resolves sibling fields concurrently and every DataLoader batch reads, but one asyncpg connection
refuses concurrent statements and one AsyncSession must not be used by two tasks at once. So a request's reads
take turns on one session (`RequestSessions.reads`, an asyncio lock): a wide query costs one connection
however many loaders it wakes, and its statements are the reads alone, with no BEGIN or ROLLBACK around each.
That session is in autocommit, so each read sees its own snapshot, as each read's own transaction did before.
It gives its connection back to the pool as soon as no read of the request waits for it, so a request holds
none between its operation's steps and none after its last read; nothing has to close it when the request ends.

Writes (a mutation's unit of work) still open sessions of their own, each in its own transaction. A request
holds at most `limit` connections at once, its reads' one included: a session takes a slot when its
`async with` block begins and gives it back when the block ends. Sessions of one request are never nested
within a query, and a mutation runs alone, so a small cap cannot deadlock a request on itself (settings refuse
a cap below 2 for a mutation's transaction and a read beside it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from infrastructure.db import autocommit

SLOTS = "crm.connection_slots"


class SlotSession(AsyncSession):
    """An AsyncSession holding one of its request's connection slots from `async with` until it closes."""

    _holds_slot = False

    async def __aenter__(self) -> SlotSession:
        await self.info[SLOTS].acquire()
        self._holds_slot = True
        return self

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        try:
            await super().__aexit__(type_, value, traceback)
        finally:
            if self._holds_slot:
                self._holds_slot = False
                self.info[SLOTS].release()


class RequestSessions(async_sessionmaker[AsyncSession]):
    """A request's session factory (for its transactions, each holding a slot) and its one shared read session."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], limit: int) -> None:
        settings = dict(sessions.kw)
        self._slots = asyncio.Semaphore(limit)
        info = {**(settings.pop("info", None) or {}), SLOTS: self._slots}
        super().__init__(class_=SlotSession, info=info, **settings)
        self._reading_sessions = autocommit(sessions)
        self._reader: AsyncSession | None = None  # made on the request's first read
        self._reader_holds_slot = False  # whether the read session holds a connection (and so a slot) now
        self._turn = asyncio.Lock()
        self._wanted = 0  # reads holding or waiting for the turn
        self._holder: asyncio.Task[Any] | None = None

    @asynccontextmanager
    async def reads(self) -> AsyncIterator[AsyncSession]:
        """The request's read session, for this block alone: other reads of the request wait for their turn."""
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            # The turn is not re-entrant: a read started inside another read of the same task would wait forever.
            raise RuntimeError("A read of this request started inside another one; finish the first read first.")
        self._wanted += 1
        try:
            async with self._turn:
                self._holder = task
                failed = False
                try:
                    if not self._reader_holds_slot:
                        await self._slots.acquire()
                        self._reader_holds_slot = True
                    if self._reader is None:
                        self._reader = self._reading_sessions()
                    yield self._reader
                except BaseException:
                    failed = True
                    raise
                finally:
                    self._holder = None
                    # When no read waits, or this one failed, the connection goes back to the pool (the session
                    # stays, empty, for the request's next read); a waiting read goes on on the same connection.
                    if failed or self._wanted == 1:
                        await self._release_connection()
        finally:
            self._wanted -= 1

    async def _release_connection(self) -> None:
        try:
            if self._reader is not None:
                # Nothing to commit or roll back in autocommit: this only hands the connection back, no statement.
                await self._reader.close()
        finally:
            if self._reader_holds_slot:
                self._reader_holds_slot = False
                self._slots.release()


def request_sessions(sessions: async_sessionmaker[AsyncSession], limit: int) -> RequestSessions:
    """A request's sessions: its reads share one session, its transactions open their own; at most `limit` at once."""
    return RequestSessions(sessions, limit)
