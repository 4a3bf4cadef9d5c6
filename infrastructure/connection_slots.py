"""A cap on the database connections one GraphQL request holds at once (session set-up, beside the engine's).

Strawberry resolves sibling fields concurrently and every DataLoader batch opens its own session, so one wide
query could otherwise take the whole pool while other people's requests wait for it. Each request gets its own
session factory whose sessions share a semaphore: a session takes a slot when its `async with` block begins
and gives it back when the block ends, so at most `limit` of the request's sessions (and connections) are open.
Sessions of one request are never nested within a query, and a mutation runs alone, so a small cap cannot
deadlock a request on itself (settings refuse a cap below 2 for a mutation's transaction and a second read).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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


def request_sessions(sessions: async_sessionmaker[AsyncSession], limit: int) -> async_sessionmaker[AsyncSession]:
    """A session factory like `sessions` whose sessions, opened with `async with`, hold at most `limit` at once."""
    settings = dict(sessions.kw)
    info = {**(settings.pop("info", None) or {}), SLOTS: asyncio.Semaphore(limit)}
    return cast(async_sessionmaker[AsyncSession], async_sessionmaker(class_=SlotSession, info=info, **settings))
