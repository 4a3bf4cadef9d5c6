"""Seeded bulk data for benchmarks: `python -m bench.generate --size XS|S|M` (2,000, 100k or 1M opportunities).

Rows go in with PostgreSQL COPY. The shape is tuned for four personas: an account manager who
sees about 1,000 opportunities, a distributor's partner manager who sees about 50,000, a dealer's
partner sales rep (one dealer of that distributor) who sees a sixth of those, and an admin who sees
them all. Every tenth deal has three activities and every twentieth a quote (the deal page), numbered so that the dealer
has some of each.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
from tqdm import tqdm

from api.settings import Settings
from domain.channel.organizations import child_path
from domain.selling.stages import STAGE_DEFAULTS, Stage
from infrastructure import migrations
from infrastructure.db import connect_raw, create_engine, session_factory
from services.tenants import create_tenant

SIZES = {"XS": 2_000, "S": 100_000, "M": 1_000_000}
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
    dealer_sales_id: uuid.UUID
    dealer_id: uuid.UUID


DEALER_SALES_EMAIL = "sales@d1-1.bench.example"
DEALER_NAME = "Bench Dealer 1.1"


def slug_for(size: str, count: int) -> str:
    return f"bench-{size.lower()}" if count == SIZES.get(size) else f"bench-n{count}"


async def connect(url: str) -> asyncpg.Connection:
    """A raw asyncpg connection from any PostgreSQL URL (unix-socket URLs included)."""
    return await connect_raw(url)


async def personas(conn: asyncpg.Connection, slug: str) -> BenchTenant | None:
    """The generated tenant's personas, or None when it has not been generated."""
    tenant_id = await conn.fetchval("SELECT id FROM tenant WHERE slug = $1", slug)
    if tenant_id is None:
        return None
    rows = {
        r["email"].split("@")[0]: r["id"]
        for r in await conn.fetch(
            "SELECT id, email FROM app_user WHERE tenant_id = $1 AND email = ANY($2::text[])",
            tenant_id, ["am0@bench.example", "manager@d1.bench.example", "admin@bench.example", DEALER_SALES_EMAIL],
        )
    }  # fmt: skip
    if "sales" not in rows:
        return None  # generated before the dealer persona: completed by _add_catalogue_rows
    distributor = await conn.fetchval(
        "SELECT id FROM organization WHERE tenant_id = $1 AND name = 'Bench Distributor 1'", tenant_id
    )
    dealer = await conn.fetchval(
        "SELECT id FROM organization WHERE tenant_id = $1 AND name = $2", tenant_id, DEALER_NAME
    )
    return BenchTenant(tenant_id, rows["am0"], rows["manager"], rows["admin"], distributor, rows["sales"], dealer)


async def generate(url: str, count: int, slug: str) -> BenchTenant:
    """Create the tenant and its rows unless it already exists; complete an older or interrupted generation."""
    conn = await connect(url)
    try:
        tenant_id = await conn.fetchval("SELECT id FROM tenant WHERE slug = $1", slug)
        filled = tenant_id is not None and await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM opportunity WHERE tenant_id = $1)", tenant_id
        )
        if filled:
            if await personas(conn, slug) is None:  # generated before the dealer persona
                async with conn.transaction():
                    await _add_catalogue_rows(conn, tenant_id)
            elif not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM sales_order WHERE tenant_id = $1)", tenant_id):
                async with conn.transaction():  # generated before the partner home was in the catalogue
                    await _add_partner_home_rows(conn, tenant_id)
                await conn.execute("ANALYZE")
            result = await personas(conn, slug)
            assert result is not None
            return result
        if tenant_id is not None:  # created, but its rows were never committed (an interrupted generation)
            enterprise_row = await conn.fetchrow(
                "SELECT id, path FROM organization WHERE tenant_id = $1 AND kind = 'ENTERPRISE'", tenant_id
            )
            assert enterprise_row is not None  # a tenant is created with its enterprise
            enterprise_id, enterprise_path = enterprise_row["id"], enterprise_row["path"]
    finally:
        await conn.close()
    if tenant_id is None:
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
    territories: list[tuple[Any, ...]] = [(tenant_id, root, "Global", None, child_path(None, root), now, now)]
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
    orgs: list[tuple[Any, ...]] = []
    d1_subtree: list[uuid.UUID] = []
    other_partners: list[uuid.UUID] = []
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
    users: list[tuple[Any, ...]] = [
        (tenant_id, uuid.uuid4(), "admin@bench.example", "Bench Admin", enterprise_id, None, ["admin"], now, now)
    ]
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
    await _add_catalogue_rows(conn, tenant_id)


async def _add_catalogue_rows(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> None:
    """The dealer's sales rep, the deal page's activities and quotes and the partner home's rows, from the deals.

    Which deals get them follows the deals' numbered names, so the same deals get them every time.
    """
    now = datetime(2026, 11, 1, tzinfo=UTC)
    # The tables were just filled in this transaction: without statistics the joins below are planned as if empty
    await conn.execute("ANALYZE opportunity, account, opportunity_partner, organization, app_user")
    dealer = await conn.fetchval(
        "SELECT id FROM organization WHERE tenant_id = $1 AND name = $2", tenant_id, DEALER_NAME
    )
    await conn.execute(
        "INSERT INTO app_user (tenant_id, id, email, name, organization_id, roles, created_at, updated_at) "
        "VALUES ($1, $2, $3, 'Dealer 1.1 Sales', $4, ARRAY['partner_sales'], $5, $5)",
        tenant_id, uuid.uuid4(), DEALER_SALES_EMAIL, dealer, now,
    )  # fmt: skip
    # Three activities on every tenth deal (a call, a meeting, a task), by the deal's owner
    await conn.execute(
        """
        INSERT INTO activity (tenant_id, id, kind, subject, account_id, opportunity_id, owner_id, occurred_at, done,
                              created_at, updated_at)
        SELECT o.tenant_id, gen_random_uuid(), k.kind::activity_kind, k.kind || ' about ' || o.name, o.account_id, o.id,
               o.owner_id, o.created_at + k.n * interval '1 day', true, $2, $2
        FROM opportunity o
        CROSS JOIN (VALUES (1, 'CALL'), (2, 'MEETING'), (3, 'TASK')) AS k(n, kind)
        WHERE o.tenant_id = $1 AND substr(o.name, 12)::int % 10 = 1
        """,
        tenant_id, now,
    )  # fmt: skip
    # A draft quote on every twentieth deal, for the deal's amount
    await conn.execute(
        """
        INSERT INTO quote (tenant_id, id, opportunity_id, account_id, number, version, status, currency, subtotal,
                           discount_total, total, max_discount_percent, created_by_id, created_at, updated_at)
        SELECT o.tenant_id, gen_random_uuid(), o.id, o.account_id, 'Q-' || substr(o.name, 12), 1, 'DRAFT', o.currency,
               o.amount, 0, o.amount, 0, o.owner_id, o.created_at + interval '2 days', o.created_at + interval '2 days'
        FROM opportunity o
        WHERE o.tenant_id = $1 AND substr(o.name, 12)::int % 20 = 1
        """,
        tenant_id,
    )  # fmt: skip
    await _add_partner_home_rows(conn, tenant_id)
    await conn.execute("ANALYZE")


async def _add_partner_home_rows(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> None:
    """What a partner's home page lists: leads offered, approved registrations, orders and their payment plans.

    Derived from numbered deals and their partner link: every 50th deal's customer is a lead (offered to the deal's
    partner, or new when it has none), every 50th a registration of the linked partner (entered by the admin on
    its behalf), every 100th has an order (the partner's purchase when linked) with two installments.
    """
    admin = await conn.fetchval("SELECT id FROM app_user WHERE tenant_id = $1 AND email = 'admin@bench.example'",
                                tenant_id)  # fmt: skip
    deals = """FROM opportunity o JOIN account a ON a.tenant_id = o.tenant_id AND a.id = o.account_id
               LEFT JOIN opportunity_partner p ON p.tenant_id = o.tenant_id AND p.opportunity_id = o.id
               WHERE o.tenant_id = $1 AND substr(o.name, 12)::int % {every} = {at}"""
    await conn.execute(
        f"""
        INSERT INTO lead (tenant_id, id, company_name, normalized_name, last_name, interests, source, status,
                          partner_organization_id, offer_expires_at, declined_by, duplicates, created_at, updated_at)
        SELECT o.tenant_id, gen_random_uuid(), a.name, a.normalized_name, 'Buyer', '{{}}', 'PARTNER',
               CASE WHEN p.id IS NULL THEN 'NEW' ELSE 'OFFERED' END::lead_status, p.organization_id,
               CASE WHEN p.id IS NOT NULL THEN o.created_at + interval '2 days' END, '{{}}', '[]', o.created_at,
               o.created_at
        {deals.format(every=50, at=1)}
        """,
        tenant_id,
    )  # fmt: skip
    await conn.execute(
        f"""
        INSERT INTO deal_registration (tenant_id, id, partner_organization_id, submitted_by_id, customer_name,
                                       customer_normalized_name, products, amount, currency, expected_close_date,
                                       status, conflicts, decided_by_id, decided_at, protection_expires_at,
                                       account_id, opportunity_id, created_at, updated_at)
        SELECT o.tenant_id, gen_random_uuid(), p.organization_id, $2, a.name, a.normalized_name, '{{}}', o.amount,
               o.currency, o.close_date, 'APPROVED', '[]', $2, o.created_at,
               timestamptz '2026-11-01 00:00+00' + (substr(o.name, 12)::int % 120) * interval '1 day', a.id, o.id,
               o.created_at, o.created_at
        {deals.format(every=50, at=3)} AND p.id IS NOT NULL
        """,
        tenant_id, admin,
    )  # fmt: skip
    await conn.execute(
        f"""
        INSERT INTO sales_order (tenant_id, id, number, account_id, opportunity_id, partner_organization_id, owner_id,
                                 placed_by_id, status, currency, total, payment_terms_days, invoice_state, paid_amount,
                                 sync_state, created_at, updated_at)
        SELECT o.tenant_id, gen_random_uuid(), 'SO-' || substr(o.name, 12), a.id, o.id, p.organization_id, o.owner_id,
               o.owner_id, 'SUBMITTED', o.currency, o.amount, 30,
               CASE WHEN substr(o.name, 12)::int % 200 = 5 THEN 'invoiced' END,
               CASE WHEN substr(o.name, 12)::int % 200 = 5 THEN round(o.amount / 2, 2) ELSE 0 END, 'SYNCED',
               o.created_at + interval '3 days', o.created_at + interval '3 days'
        {deals.format(every=100, at=5)}
        """,
        tenant_id,
    )  # fmt: skip
    await conn.execute("ANALYZE sales_order")
    await conn.execute(
        """
        INSERT INTO installment (tenant_id, id, record_id, order_id, account_id, partner_organization_id, sequence,
                                 due_date, amount, paid_amount, currency, created_at, updated_at)
        SELECT s.tenant_id, gen_random_uuid(), s.id, s.id, s.account_id, s.partner_organization_id, k.n,
               (s.created_at + k.n * interval '30 days')::date, round(s.total / 2, 2),
               CASE WHEN k.n = 1 AND s.invoice_state IS NOT NULL THEN round(s.total / 2, 2) ELSE 0 END, s.currency,
               s.created_at, s.created_at
        FROM sales_order s CROSS JOIN (VALUES (1), (2)) AS k(n)
        WHERE s.tenant_id = $1
        """,
        tenant_id,
    )  # fmt: skip


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
