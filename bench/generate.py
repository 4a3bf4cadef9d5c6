"""Seeded bulk data for benchmarks: `python -m bench.generate --size S|M` (100k or 1M opportunities).

Rows go in with PostgreSQL COPY. The shape is tuned for three personas: an account manager who
sees about 1,000 opportunities, a distributor's partner manager who sees about 50,000, and an
admin who sees them all.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
from tqdm import tqdm

from api.provisioning import create_tenant
from api.settings import Settings
from domain.channel.organizations import child_path
from domain.selling.opportunities import STAGE_DEFAULTS, Stage
from infrastructure import migrations
from infrastructure.db import connect_raw, create_engine, session_factory

SIZES = {"S": 100_000, "M": 1_000_000}
OPPORTUNITIES_PER_MANAGER = 1_000
DISTRIBUTOR_SHARE = 50_000
BATCH = 20_000
SEED = 7


@dataclass(frozen=True)
class BenchTenant:
    """Who the benchmark signs in as."""

    tenant_id: uuid.UUID
    account_manager_id: uuid.UUID
    partner_manager_id: uuid.UUID
    admin_id: uuid.UUID
    distributor_id: uuid.UUID


def slug_for(size: str, count: int) -> str:
    return f"bench-{size.lower()}" if count == SIZES.get(size) else f"bench-n{count}"


async def connect(url: str) -> asyncpg.Connection:
    """A raw asyncpg connection from any PostgreSQL URL (unix-socket URLs included)."""
    return await connect_raw(url)  # type: ignore[no-any-return]


async def personas(conn: asyncpg.Connection, slug: str) -> BenchTenant | None:
    """The generated tenant's personas, or None when it has not been generated."""
    tenant_id = await conn.fetchval("SELECT id FROM tenant WHERE slug = $1", slug)
    if tenant_id is None:
        return None
    rows = {
        r["email"].split("@")[0]: r["id"]
        for r in await conn.fetch(
            "SELECT id, email FROM app_user WHERE tenant_id = $1 AND email = ANY($2::text[])",
            tenant_id, ["am0@bench.example", "manager@d1.bench.example", "admin@bench.example"],
        )
    }  # fmt: skip
    distributor = await conn.fetchval(
        "SELECT id FROM organization WHERE tenant_id = $1 AND name = 'Bench Distributor 1'", tenant_id
    )
    return BenchTenant(tenant_id, rows["am0"], rows["manager"], rows["admin"], distributor)


async def generate(url: str, count: int, slug: str) -> BenchTenant:
    """Create the tenant and its rows unless it already exists."""
    conn = await connect(url)
    try:
        existing = await personas(conn, slug)
        if existing is not None:
            return existing
    finally:
        await conn.close()
    engine = create_engine(url, pool_size=1)
    async with session_factory(engine)() as session, session.begin():
        tenant, enterprise = await create_tenant(session, slug, f"Benchmark {slug}")
        tenant_id, enterprise_id, enterprise_path = tenant.id, enterprise.id, enterprise.path
    await engine.dispose()
    conn = await connect(url)
    try:
        async with conn.transaction():
            await _fill(conn, tenant_id, enterprise_id, enterprise_path, count)
        result = await personas(conn, slug)
        assert result is not None
        return result
    finally:
        await conn.close()


async def _fill(conn: asyncpg.Connection, tenant_id: uuid.UUID, enterprise_id: uuid.UUID, enterprise_path: str,
                count: int) -> None:  # fmt: skip
    rng = random.Random(SEED)
    now = datetime(2026, 11, 1, tzinfo=UTC)

    # Territories: one per 100 account managers, under a root
    managers = max(1, count // OPPORTUNITIES_PER_MANAGER)
    root = uuid.uuid4()
    territories = [(tenant_id, root, "Global", None, child_path(None, root), now, now)]
    regions = []
    for i in range(max(1, managers // 100)):
        tid = uuid.uuid4()
        regions.append(tid)
        territories.append((tenant_id, tid, f"Region {i}", root, child_path(child_path(None, root), tid), now, now))
    await conn.copy_records_to_table(
        "territory", records=territories,
        columns=["tenant_id", "id", "name", "parent_id", "path", "created_at", "updated_at"],
    )  # fmt: skip

    # Organizations: 2 distributors with 5 dealers each
    orgs, d1_subtree, other_partners = [], [], []
    for d in range(2):
        did = uuid.uuid4()
        dpath = child_path(enterprise_path, did)
        orgs.append((tenant_id, did, f"Bench Distributor {d + 1}", "DISTRIBUTOR", enterprise_id, dpath, "GOLD",
                     "ACTIVE", now, now))  # fmt: skip
        (d1_subtree if d == 0 else other_partners).append(did)
        for r in range(5):
            rid = uuid.uuid4()
            orgs.append((tenant_id, rid, f"Bench Dealer {d + 1}.{r + 1}", "DEALER", did, child_path(dpath, rid),
                         "SILVER", "ACTIVE", now, now))  # fmt: skip
            (d1_subtree if d == 0 else other_partners).append(rid)
    await conn.copy_records_to_table(
        "organization", records=orgs,
        columns=["tenant_id", "id", "name", "kind", "parent_id", "path", "tier", "status", "created_at", "updated_at"],
    )  # fmt: skip

    # Users: admin, account managers, specialists, the distributor's partner manager
    users = [(tenant_id, uuid.uuid4(), "admin@bench.example", "Bench Admin", enterprise_id, None, ["admin"], now, now)]
    manager_ids = []
    for i in range(managers):
        uid = uuid.uuid4()
        manager_ids.append(uid)
        users.append((tenant_id, uid, f"am{i}@bench.example", f"Account Manager {i}", enterprise_id,
                      regions[i % len(regions)], ["account_manager"], now, now))  # fmt: skip
    specialist_ids = [uuid.uuid4() for _ in range(max(5, managers // 10))]
    for i, sid in enumerate(specialist_ids):
        users.append((tenant_id, sid, f"specialist{i}@bench.example", f"Specialist {i}", enterprise_id, None,
                      ["solution_specialist"], now, now))  # fmt: skip
    users.append((tenant_id, uuid.uuid4(), "manager@d1.bench.example", "D1 Partner Manager", d1_subtree[0], None,
                  ["partner_manager"], now, now))  # fmt: skip
    await conn.copy_records_to_table(
        "app_user", records=users,
        columns=["tenant_id", "id", "email", "name", "organization_id", "territory_id", "roles", "created_at",
                 "updated_at"],
    )  # fmt: skip

    # Accounts: a quarter as many as opportunities, each owned by a manager
    account_count = max(1, count // 4)
    accounts = []
    account_rows = []
    for i in range(account_count):
        aid = uuid.uuid4()
        owner_index = i % managers
        accounts.append((aid, manager_ids[owner_index], regions[owner_index % len(regions)]))
        name = f"Bench Customer {i:07d}"
        account_rows.append((tenant_id, aid, name, name.lower(), manager_ids[owner_index],
                             regions[owner_index % len(regions)], "PROSPECT", now, now))  # fmt: skip
    await conn.copy_records_to_table(
        "account", records=account_rows,
        columns=["tenant_id", "id", "name", "normalized_name", "owner_id", "territory_id", "lifecycle_stage",
                 "created_at", "updated_at"],
    )  # fmt: skip

    # Opportunities, each with one team member; the first DISTRIBUTOR_SHARE go to D1's subtree
    stages = list(Stage)
    d1_share = min(DISTRIBUTOR_SHARE, count // 2)
    for start in tqdm(range(0, count, BATCH), desc="opportunities", unit="batch"):
        opps, team, partners = [], [], []
        for i in range(start, min(start + BATCH, count)):
            oid = uuid.uuid4()
            account_id, owner_id, territory_id = accounts[i % account_count]
            stage = stages[i % len(stages)]
            probability, forecast = STAGE_DEFAULTS[stage]
            created = now - timedelta(seconds=i * 17)
            opps.append((tenant_id, oid, account_id, f"Bench deal {i:07d}", owner_id, territory_id, stage.name,
                         Decimal(rng.randrange(1_000, 1_000_000)), "USD", date(2027, 1, 1) + timedelta(days=i % 365),
                         probability, forecast.name, created, created))  # fmt: skip
            team.append((tenant_id, uuid.uuid4(), oid, specialist_ids[i % len(specialist_ids)], "SOLUTION_SPECIALIST",
                         "EDIT", now, now))  # fmt: skip
            if i < d1_share:
                partners.append((tenant_id, uuid.uuid4(), oid, d1_subtree[i % len(d1_subtree)], "SOURCING", now, now))
            elif i % 5 == 0:
                partners.append((tenant_id, uuid.uuid4(), oid, rng.choice(other_partners), "SOURCING", now, now))
        await conn.copy_records_to_table(
            "opportunity", records=opps,
            columns=["tenant_id", "id", "account_id", "name", "owner_id", "territory_id", "stage", "amount",
                     "currency", "close_date", "probability", "forecast_category", "created_at", "updated_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "opportunity_team_member", records=team,
            columns=["tenant_id", "id", "opportunity_id", "user_id", "sales_role", "access", "created_at",
                     "updated_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "opportunity_partner", records=partners,
            columns=["tenant_id", "id", "opportunity_id", "organization_id", "role", "created_at", "updated_at"],
        )  # fmt: skip
    await conn.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--count", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default=None, help="Defaults to DATABASE_URL or the embedded database.")
    args = parser.parse_args()
    from api.embedded_postgres import resolve_database_url

    url = args.database_url or resolve_database_url(Settings.from_env())
    migrations.upgrade(url)
    count = args.count or SIZES[args.size]
    tenant = asyncio.run(generate(url, count, slug_for(args.size, count)))
    print(f"tenant {slug_for(args.size, count)} ({tenant.tenant_id}) has {count} opportunities")


if __name__ == "__main__":
    main()
