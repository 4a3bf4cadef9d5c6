"""Migrations bring an empty database to the models' schema, with nothing left to autogenerate."""

from __future__ import annotations

import uuid

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from domain import migrations
from domain.db import create_engine
from domain.models import Base
from tests.conftest import create_database


async def test_upgrade_from_empty_reaches_head_with_no_drift(pg_server_url: str) -> None:
    # Given an empty database
    url = create_database(pg_server_url, f"crm_mig_{uuid.uuid4().hex[:8]}")
    # When every migration runs
    import asyncio

    await asyncio.to_thread(migrations.upgrade, url)
    # Then the revision is head and the schema matches the models exactly
    engine = create_engine(url, pool_size=1)
    try:
        assert await migrations.current_revision(engine) == migrations.head_revision(url)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata)
            )
        assert diff == []
    finally:
        await engine.dispose()
