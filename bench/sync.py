"""Benchmark the ERP sync end to end against a real Tryton server: `python -m bench.sync --orders 60`.

Ours: partner orders are placed through the use case (order, lines, payment plan and outbox
message in one transaction) at a steady rate while `--workers` PgQueuer workers deliver them to
Tryton over JSON-RPC. Reported: orders per second from the first order placed to the last one
confirmed in Tryton, and the outbox lag (placed → delivered) at p50, p95 and max.

The floor, in the same run against the same kind of fresh Tryton database: the adapter's own
calls (party, then create + quote + confirm of the sale), one order after another with no CRM in
between. The ratio (floor/ours) says what the outbox, the queue and the bookkeeping cost.

Tryton is installed and started by tests/tryton/harness.py (its own virtual environment, SQLite).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from api.settings import Settings
from domain.access.principals import load_user_actor
from domain.access.unit_of_work import UnitOfWork
from domain.channel.organizations import Organization, OrganizationKind, PartnerTier, child_path
from domain.commerce.catalog import PriceList
from domain.commerce.orders import place_partner_order
from domain.commerce.quotes import LineInput
from domain.erp.outbox import ErpAdapterKind, ErpConnection, MessageStatus, OutboxMessage
from domain.identity.users import User
from infrastructure import migrations
from infrastructure.db import create_engine, session_factory, transaction
from integrations.erp import worker
from integrations.erp.port import ErpLine, ErpOrder, ErpParty
from integrations.erp.sync import RetryPolicy, sync_products
from integrations.erp.tryton import TrytonErp
from permissions.engine import access_for
from services.tenants import create_tenant

RESULTS = Path(__file__).parent / "results"


async def _tenant(sessions, tryton, database: str):
    """A tenant with one distributor user, connected to a fresh Tryton database, catalogue pulled."""
    slug = f"sync-{uuid.uuid4().hex[:8]}"
    async with transaction(sessions) as session:
        tenant, enterprise = await create_tenant(session, slug, "Sync bench")
        org_id = uuid.uuid4()
        session.add(Organization(
            tenant_id=tenant.id, id=org_id, name="Bench Distribution", kind=OrganizationKind.DISTRIBUTOR,
            parent_id=enterprise.id, path=child_path(enterprise.path, org_id), tier=PartnerTier.GOLD,
        ))  # fmt: skip
        user = User(tenant_id=tenant.id, id=uuid.uuid4(), email=f"buyer@{slug}.example", name="Buyer",
                    organization_id=org_id, roles=["partner_admin"])  # fmt: skip
        session.add(user)
        session.add(PriceList(tenant_id=tenant.id, id=uuid.uuid4(), name="Distributors",
                              partner_kind=OrganizationKind.DISTRIBUTOR, discount_percent=Decimal("30")))  # fmt: skip
        session.add(ErpConnection(tenant_id=tenant.id, adapter=ErpAdapterKind.TRYTON, settings={
            "url": tryton.url, "database": database, "login": tryton.login, "password": tryton.password}))  # fmt: skip
    await sync_products(sessions, tenant.id)
    return tenant.id, user.id


async def _product_id(sessions, tenant_id):
    from domain.commerce.catalog import Product

    async with sessions() as session:
        return (
            await session.execute(select(Product.id).where(Product.tenant_id == tenant_id, Product.code == "HW-100"))
        ).scalar_one()


async def measure_ours(url: str, sessions, tryton, orders: int, rate: float, workers: int) -> dict:
    database = tryton.new_database(f"bench_{uuid.uuid4().hex[:8]}")
    tenant_id, user_id = await _tenant(sessions, tryton, database)
    product = await _product_id(sessions, tenant_id)
    stop = asyncio.Event()
    policy = RetryPolicy(base_seconds=0.2, cap_seconds=2)
    runs = [asyncio.create_task(worker.deliver_forever(url, policy=policy, stop=stop)) for _ in range(workers)]
    start = time.perf_counter()
    for _ in range(orders):
        async with transaction(sessions) as session:
            loaded = await load_user_actor(session, tenant_id, user_id)
            assert loaded is not None
            access = await access_for(session, loaded.actor, loaded.policy_version)
            await place_partner_order(UnitOfWork(session, access), [LineInput(product, Decimal("1"))], account_id=None)
        await asyncio.sleep(1 / rate)
    placed = time.perf_counter() - start
    while True:
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(
                        OutboxMessage.status,
                        OutboxMessage.created_at,
                        OutboxMessage.delivered_at,
                        OutboxMessage.attempts,
                    ).where(OutboxMessage.tenant_id == tenant_id)
                )
            ).all()
        if all(r.status is not MessageStatus.PENDING for r in rows):
            break
        await asyncio.sleep(0.2)
    elapsed = time.perf_counter() - start
    stop.set()
    await asyncio.gather(*runs, return_exceptions=True)
    lags = sorted((r.delivered_at - r.created_at).total_seconds() for r in rows if r.delivered_at)
    return {
        "orders": orders, "delivered": len(lags), "dead": sum(r.status is MessageStatus.DEAD for r in rows),
        "retries": sum(max(r.attempts - 1, 0) for r in rows), "placing_seconds": round(placed, 2),
        "seconds": round(elapsed, 2), "orders_per_second": round(len(lags) / elapsed, 2),
        "lag_p50_s": round(statistics.median(lags), 2), "lag_p95_s": round(lags[int(0.95 * (len(lags) - 1))], 2),
        "lag_max_s": round(lags[-1], 2), "workers": workers, "offered_rate": rate,
    }  # fmt: skip


async def measure_floor(tryton, orders: int) -> dict:
    database = tryton.new_database(f"floor_{uuid.uuid4().hex[:8]}")
    erp = TrytonErp(tryton.url, database, tryton.login, tryton.password)
    party = ErpParty(reference=str(uuid.uuid4()), name="Bench Distribution")
    start = time.perf_counter()
    try:
        for n in range(orders):
            await erp.ensure_party(party)
            line = ErpLine("HW-100", "Gateway", Decimal("1"), Decimal("175.00"))
            await erp.push_order(ErpOrder(f"FLOOR-{n:05d}", party, "USD", (line,), date.today()))
    finally:
        await erp.close()
    elapsed = time.perf_counter() - start
    return {"orders": orders, "seconds": round(elapsed, 2), "orders_per_second": round(orders / elapsed, 2)}


async def run(url: str, orders: int, rate: float, workers: int) -> dict:
    from tests.tryton.harness import session_server

    tryton = session_server()
    engine = create_engine(url, pool_size=10)
    try:
        sessions = session_factory(engine)
        floor = await measure_floor(tryton, orders)
        ours = await measure_ours(url, sessions, tryton, orders, rate, workers)
    finally:
        await engine.dispose()
    ratio = round(floor["orders_per_second"] / max(ours["orders_per_second"], 1e-9), 2)
    return {"when": datetime.now(UTC).isoformat(timespec="seconds"), "floor": floor, "ours": ours, "ratio": ratio}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=60, help="Orders to sync (default 60).")
    parser.add_argument("--rate", type=float, default=5.0, help="Orders placed per second (default 5).")
    parser.add_argument("--workers", type=int, default=2, help="Worker processes' queue managers (default 2).")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: DATABASE_URL or embedded).")
    args = parser.parse_args()
    from api.embedded_postgres import resolve_database_url

    url = args.database_url or resolve_database_url(Settings.from_env())
    migrations.upgrade(url)
    result = asyncio.run(run(url, args.orders, args.rate, args.workers))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"sync-{result['when'].replace(':', '')}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
