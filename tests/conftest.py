"""Shared fixtures: one real PostgreSQL per test session, migrated once.

`TEST_DATABASE_URL` points the suite at any PostgreSQL (a throw-away database: the suite
creates its own databases on it); unset, an embedded server from `pgserver` is started in a
temporary folder. Tests isolate themselves by creating their own tenants.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from infrastructure import migrations
from infrastructure.db import create_engine, session_factory

# The differential check: every read the compiler covers, in any test, is answered by the resolvers and compared
# with its compiled answer; a difference is written here (also by servers the tests start) and fails the run.
COMPILED_READS_LOG = os.path.join(tempfile.mkdtemp(prefix="crm-compiled-reads-"), "differences.jsonl")
os.environ.setdefault("CRM_COMPILED_READS", "check")
os.environ.setdefault("CRM_COMPILED_READS_LOG", COMPILED_READS_LOG)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ["CRM_COMPILED_READS_LOG"]
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as log:
        differences = log.read().splitlines()
    if differences:
        print(f"\n{len(differences)} compiled read(s) answered differently from the resolvers ({path}):")
        for line in differences[:20]:
            print(line[:3000])
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _server_url() -> Iterator[str]:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    import pgserver

    with tempfile.TemporaryDirectory(prefix="crm-test-pg-") as data_dir:
        server = pgserver.get_server(data_dir, cleanup_mode="delete")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server the suite may create databases on."""
    yield from _server_url()


def create_database(server_url: str, name: str) -> str:
    """Create an empty database on the server and return its URL (blocking; safe inside a running loop)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from infrastructure.db import connect_raw

    base = make_url(server_url)

    async def _create() -> None:
        conn = await connect_raw(server_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _create()).result()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> str:
    """A database migrated to head, shared by the whole session."""
    url = create_database(pg_server_url, f"crm_test_{uuid.uuid4().hex[:8]}")
    migrations.upgrade(url)  # a sync fixture: Alembic runs its own event loop
    return url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as s:
        yield s


@pytest.fixture
async def sql_statement_counter(engine: AsyncEngine) -> AsyncIterator[list[str]]:
    """Every SQL statement the engine runs while the test holds this list."""
    from sqlalchemy import event

    seen: list[str] = []

    def _record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", _record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", _record)


@pytest.fixture
async def db_ping(session: AsyncSession) -> int:
    return (await session.execute(text("select 1"))).scalar_one()
