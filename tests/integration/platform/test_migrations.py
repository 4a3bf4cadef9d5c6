"""Migrations bring an empty database to the models' schema, with nothing left to autogenerate."""

from __future__ import annotations

import uuid

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from domain.models import Base
from infrastructure import migrations
from infrastructure.db import create_engine
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
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True, "include_name": migrations.include_name}),
                    Base.metadata,
                )
            )
        assert diff == []
    finally:
        await engine.dispose()


async def test_existing_tenants_get_the_grants_added_by_later_migrations(pg_server_url: str) -> None:
    import asyncio
    import importlib.util
    from pathlib import Path

    from sqlalchemy import text

    from permissions.defaults import default_policy_lines

    # Given a tenant created at revision 0002 with the policy set of that time
    url = create_database(pg_server_url, f"crm_mig_{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(migrations.upgrade, url, "0002")
    tenant_id = uuid.uuid4()
    added_later = set()
    for path in sorted((Path(migrations.__file__).parents[1] / "migrations" / "versions").glob("*.py")):
        if path.name < "0003":
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        added_later |= {
            ("p", role, str(tenant_id), res, act, sc) for role, res, act, sc in getattr(module, "NEW_GRANTS", [])
        }
    current = {tuple(line) for line in default_policy_lines(str(tenant_id))}
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO tenant (id, slug, name) VALUES (:id, 'old', 'Old')"), {"id": tenant_id}
            )
            for line in sorted(current - added_later):
                values = [*line[1:], "", "", ""][:5]
                await conn.execute(
                    text(
                        "INSERT INTO policy_rule (tenant_id, ptype, v0, v1, v2, v3, v4) VALUES (:t, :p, :a, :b, :c, :d, :e)"
                    ),
                    {
                        "t": tenant_id,
                        "p": line[0],
                        "a": values[0],
                        "b": values[1],
                        "c": values[2],
                        "d": values[3],
                        "e": values[4],
                    },
                )
        # When the later migrations run
        await asyncio.to_thread(migrations.upgrade, url)
        # Then the tenant holds exactly today's default policy set, and its enforcers reload
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT ptype, v0, v1, v2, v3, v4 FROM policy_rule WHERE tenant_id = :t"), {"t": tenant_id}
                )
            ).all()
            version = (
                await conn.execute(text("SELECT policy_version FROM tenant WHERE id = :t"), {"t": tenant_id})
            ).scalar_one()
        stored = {(r[0], r[1], r[2], *([r[3], r[4], r[5]] if r[0] == "p" else [r[3]])) for r in rows}
        assert stored == current
        assert version == 1 + sum(
            1
            for p in (Path(migrations.__file__).parents[1] / "migrations" / "versions").glob("*.py")
            if p.name >= "0003" and "grant_to_existing_tenants(" in p.read_text()
        )
    finally:
        await engine.dispose()
