"""Engine and session factories for PostgreSQL through asyncpg."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def async_url(url: str) -> str:
    """Turn any PostgreSQL URL (postgres://, postgresql://, +psycopg…) into an asyncpg one."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


async def connect_raw(url: str):  # type: ignore[no-untyped-def]
    """A plain asyncpg connection from any PostgreSQL URL (unix-socket URLs included), for work beside the ORM:
    PgQueuer's listener, COPY in the benchmark, creating databases in the tests."""
    import asyncpg

    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return await asyncpg.connect(
        user=parsed.username or "postgres",
        password=parsed.password,
        host=parsed.query.get("host") or parsed.host,
        port=parsed.port,
        database=parsed.database or "postgres",
    )


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An async engine with a bounded pool; statements are prepared and cached by asyncpg."""
    return create_async_engine(
        async_url(url), pool_size=pool_size, max_overflow=pool_size, echo=echo, pool_pre_ping=True
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A unit of work: commits when the block ends normally, rolls back on any error."""
    async with sessions() as session, session.begin():
        yield session
