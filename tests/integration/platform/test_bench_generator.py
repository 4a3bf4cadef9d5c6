"""The benchmark's data generator works (at a tiny size) and gives each persona the share it should see."""

from __future__ import annotations

from bench.generate import OPPORTUNITIES_PER_MANAGER, connect, generate
from tests.integration.graphql_client import caller_for

COUNT = 4_000


async def test_generator_builds_the_three_personas(database_url, sessions, client) -> None:  # type: ignore[no-untyped-def]
    tenant = await generate(database_url, COUNT, "bench-test")
    # Running it again finds the tenant and adds nothing
    again = await generate(database_url, COUNT, "bench-test")
    assert again == tenant
    conn = await connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM opportunity WHERE tenant_id = $1", tenant.tenant_id) == COUNT
    finally:
        await conn.close()
    query = "{ opportunities(first: 1) { totalCount } }"
    seen = {}
    for name, user_id in (("am", tenant.account_manager_id), ("partner", tenant.partner_manager_id),
                          ("admin", tenant.admin_id)):  # fmt: skip
        caller = await caller_for(client, sessions, tenant.tenant_id, user_id)
        seen[name] = (await caller.data(query))["opportunities"]["totalCount"]
    # One account manager per 1,000 deals, the distributor half of a small tenant (50k of a large one), the admin all
    assert seen == {"am": OPPORTUNITIES_PER_MANAGER, "partner": COUNT // 2, "admin": COUNT}
