"""Units of work that own their transaction: one for an actor's request, one for a system job over a tenant."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from domain.access.actor import Access
from domain.access.unit_of_work import UnitOfWork, system_unit_of_work
from domain.shared.errors import ConcurrentChange
from infrastructure.connection_slots import RequestSessions
from infrastructure.db import autocommit

log = logging.getLogger("crm.services")


Sessions = async_sessionmaker[AsyncSession]


@asynccontextmanager
async def unit_of_work(sessions: Sessions, access: Access) -> AsyncIterator[UnitOfWork]:
    """A unit of work for the actor: commits when the block ends normally, rolls back on any error.

    A versioned record that another writer changed meanwhile (its UPDATE matched no row) is a ConcurrentChange.
    """
    try:
        async with sessions() as session, session.begin():
            yield UnitOfWork(session, access)
    except StaleDataError as exc:
        log.info("a concurrent change to a versioned record refused a unit of work", exc_info=True)
        raise ConcurrentChange() from exc


@asynccontextmanager
async def reading(sessions: Sessions, access: Access) -> AsyncIterator[UnitOfWork]:
    """A unit of work that only reads, outside any transaction: its statements alone, no BEGIN or ROLLBACK.

    Each statement sees its own snapshot, as a read's own transaction did. A request's reads (`RequestSessions`)
    take turns on the request's one session; other reads get an autocommit session of their own for the block.
    """
    if isinstance(sessions, RequestSessions):
        async with sessions.reads() as session:
            yield UnitOfWork(session, access)
        return
    async with autocommit(sessions)() as session:
        yield UnitOfWork(session, access)


@asynccontextmanager
async def in_one_statement(sessions: Sessions, access: Access) -> AsyncIterator[UnitOfWork]:
    """A unit of work for a change that is one statement (its checks, writes and read-back in one data-modifying
    WITH): PostgreSQL makes a single statement atomic by itself, so it runs with no BEGIN and COMMIT around it.

    Only for a change made of exactly one statement: two would each commit alone. It takes its turn on the
    request's one session, as a read does (`reading`).
    """
    async with reading(sessions, access) as uow:
        yield uow


@asynccontextmanager
async def outside_transaction(sessions: Sessions) -> AsyncIterator[AsyncSession]:
    """A session for work that is one atomic statement (a budget's charge), so needs no BEGIN and COMMIT around it.

    A request's statements go on the request's one session (`RequestSessions`), in its turn among its reads.
    """
    if isinstance(sessions, RequestSessions):
        async with sessions.reads() as session:
            yield session
        return
    async with autocommit(sessions)() as session:
        yield session


@asynccontextmanager
async def system_unit(sessions: Sessions, tenant_id: uuid.UUID, job: str) -> AsyncIterator[UnitOfWork]:
    """A unit of work for a system job over one whole tenant (`job` names it), in its own transaction."""
    async with sessions() as session, session.begin():
        yield system_unit_of_work(session, tenant_id, job)
