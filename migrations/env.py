"""Alembic environment: runs migrations through the async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from domain.models import Base
from infrastructure.db import MIGRATION_TIMEOUTS, create_engine
from infrastructure.migrations import include_name

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, compare_type=True, include_name=include_name
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:  # infrastructure.migrations sets it from the DATABASE_URL
        raise SystemExit("No database URL for the migrations; give a DATABASE_URL.")
    engine = create_engine(url, pool_size=1, timeouts=MIGRATION_TIMEOUTS)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; give a DATABASE_URL.")
asyncio.run(_main())
