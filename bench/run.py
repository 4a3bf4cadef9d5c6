"""Benchmark the opportunity list query against a raw-SQL floor: `python -m bench.run --size S`.

Our side: the API in a uvicorn subprocess on 127.0.0.1, called over HTTP with the GraphQL list
query (a page of 50 with account, owner and totalCount) as three personas. The floor, in the same
run and on the same database: asyncpg + orjson fetching the same rows, the same count and the
same visibility filter written by hand. Both report requests per second and the CPU seconds the
serving process spent per request (PostgreSQL's own CPU is outside both); the ratio ours/floor
is the number to watch.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import orjson
from sqlalchemy.engine import make_url

from api.settings import Settings
from bench.generate import SIZES, BenchTenant, connect, generate, slug_for
from infrastructure import migrations
from infrastructure.db import create_engine, session_factory

QUERY = """
query Opps($first: Int!, $after: String) {
  opportunities(first: $first, after: $after, orderBy: {field: CREATED_AT, direction: DESC}) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id name stage amount { amount currency } closeDate account { id name } owner { id name } } }
  }
}
"""
PAGE = 50
RESULTS = Path(__file__).parent / "results"

FLOOR_SELECT = """
SELECT o.id, o.name, o.stage, o.amount, o.currency, o.close_date, o.created_at, a.id AS account_id,
       a.name AS account_name, u.id AS owner_id, u.name AS owner_name
FROM opportunity o
JOIN account a ON a.tenant_id = o.tenant_id AND a.id = o.account_id
LEFT JOIN app_user u ON u.tenant_id = o.tenant_id AND u.id = o.owner_id
WHERE {visible}
ORDER BY o.created_at DESC, o.id DESC
LIMIT {limit}
"""
FLOOR_COUNT = "SELECT count(*) FROM opportunity o WHERE {visible}"
VISIBLE = {
    "admin": "o.tenant_id = $1",
    "account_manager": "o.tenant_id = $1 AND (o.owner_id = $2 OR o.id IN (SELECT opportunity_id FROM "
    "opportunity_team_member WHERE tenant_id = $1 AND user_id = $2))",
    "partner_manager": "o.tenant_id = $1 AND o.id IN (SELECT p.opportunity_id FROM opportunity_partner p WHERE "
    "p.tenant_id = $1 AND p.organization_id IN (SELECT id FROM organization WHERE tenant_id = $1 "
    "AND path LIKE $2 || '%'))",
}


@dataclass
class Measurement:
    persona: str
    side: str
    requests: int
    seconds: float
    cpu_seconds: float
    rows_visible: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / self.requests


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _run_concurrently(n: int, concurrency: int, call) -> float:  # type: ignore[no-untyped-def]
    """Run `call` n times with at most `concurrency` in flight; wall seconds."""
    queue = iter(range(n))

    async def worker() -> None:
        for _ in queue:
            await call()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


async def measure_api(base: str, pid: int, token: str, persona: str, n: int, concurrency: int) -> Measurement:
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        visible = 0

        async def call() -> None:
            nonlocal visible
            response = await client.post("/graphql", json={"query": QUERY, "variables": {"first": PAGE}})
            body = response.json()
            if "errors" in body:
                raise RuntimeError(body["errors"])
            visible = body["data"]["opportunities"]["totalCount"]

        for _ in range(5):
            await call()
        cpu_before = _process_cpu(pid)
        seconds = await _run_concurrently(n, concurrency, call)
        return Measurement(persona, "api", n, seconds, _process_cpu(pid) - cpu_before, visible)


async def measure_floor(pool: asyncpg.Pool, args: list[object], persona: str, n: int, concurrency: int) -> Measurement:
    visible_sql = VISIBLE[persona]
    select_sql = FLOOR_SELECT.format(visible=visible_sql, limit=PAGE + 1)
    count_sql = FLOOR_COUNT.format(visible=visible_sql)
    visible = 0

    async def call() -> None:
        nonlocal visible
        async with pool.acquire() as conn:
            rows = await conn.fetch(select_sql, *args)
            visible = await conn.fetchval(count_sql, *args)
        orjson.dumps({"totalCount": visible, "edges": [dict(r) for r in rows[:PAGE]]}, default=str)

    for _ in range(5):
        await call()
    cpu_before = time.process_time()
    seconds = await _run_concurrently(n, concurrency, call)
    return Measurement(persona, "floor", n, seconds, time.process_time() - cpu_before, visible)


async def _tokens(url: str, tenant: BenchTenant) -> dict[str, str]:
    from api.auth.tokens import issue_user_token

    engine = create_engine(url, pool_size=1)
    sessions = session_factory(engine)
    try:
        return {
            "account_manager": await issue_user_token(sessions, tenant.tenant_id, tenant.account_manager_id, 7200),
            "partner_manager": await issue_user_token(sessions, tenant.tenant_id, tenant.partner_manager_id, 7200),
            "admin": await issue_user_token(sessions, tenant.tenant_id, tenant.admin_id, 7200),
        }
    finally:
        await engine.dispose()


def start_api(url: str) -> tuple[subprocess.Popen[bytes], str]:
    """The API in its own process (so its CPU can be read), production settings, on a free loopback port."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "CRM_ENV": "production"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--port", str(port), "--log-level",
         "warning", "--no-access-log"],
        env=env,
    )  # fmt: skip
    return server, f"http://127.0.0.1:{port}"


async def benchmark(url: str, size: str, count: int, n: int, concurrency: int) -> list[Measurement]:
    tenant = await generate(url, count, slug_for(size, count))
    tokens = await _tokens(url, tenant)
    conn = await connect(url)
    distributor_path = await conn.fetchval("SELECT path FROM organization WHERE id = $1", tenant.distributor_id)
    await conn.close()
    floor_args: dict[str, list[object]] = {
        "admin": [tenant.tenant_id],
        "account_manager": [tenant.tenant_id, tenant.account_manager_id],
        "partner_manager": [tenant.tenant_id, distributor_path],
    }
    server, base = await asyncio.to_thread(start_api, url)
    results: list[Measurement] = []
    try:
        async with httpx.AsyncClient(base_url=base) as probe:
            for _ in range(100):
                try:
                    if (await probe.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the API did not become ready")
        u = make_url(url)
        pool = await asyncpg.create_pool(
            user=u.username or "postgres", password=u.password, host=u.query.get("host") or u.host, port=u.port,
            database=u.database, min_size=concurrency, max_size=concurrency,
        )  # fmt: skip
        try:
            for persona in ("account_manager", "partner_manager", "admin"):
                results.append(await measure_api(base, server.pid, tokens[persona], persona, n, concurrency))
                results.append(await measure_floor(pool, floor_args[persona], persona, n, concurrency))
        finally:
            await pool.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return results


def report(results: list[Measurement], size: str, count: int) -> None:
    print(f"\nOpportunity list, page of {PAGE} with account, owner and totalCount; {count:,} opportunities ({size})")
    print(f"{'persona':<17}{'sees':>10}{'api req/s':>11}{'floor req/s':>13}{'api cpu ms':>12}{'floor cpu ms':>14}"
          f"{'cpu ratio':>11}{'req/s ratio':>13}")  # fmt: skip
    by = {(m.persona, m.side): m for m in results}
    for persona in ("account_manager", "partner_manager", "admin"):
        api, floor = by[(persona, "api")], by[(persona, "floor")]
        assert api.rows_visible == floor.rows_visible, (
            f"{persona}: api sees {api.rows_visible}, floor {floor.rows_visible}"
        )
        print(f"{persona:<17}{api.rows_visible:>10,}{api.per_second:>11.1f}{floor.per_second:>13.1f}"
              f"{api.cpu_ms_per_request:>12.2f}{floor.cpu_ms_per_request:>14.2f}"
              f"{api.cpu_ms_per_request / floor.cpu_ms_per_request:>11.2f}"
              f"{floor.per_second / api.per_second:>13.2f}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{size}.json"
    out.write_text(json.dumps([asdict(m) | {"per_second": m.per_second, "cpu_ms_per_request": m.cpu_ms_per_request}
                               for m in results], indent=2))  # fmt: skip
    print(f"\nwritten to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--count", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=200, help="requests per persona and side")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    from api.embedded_postgres import resolve_database_url

    url = args.database_url or resolve_database_url(Settings.from_env())
    migrations.upgrade(url)
    count = args.count or SIZES[args.size]
    results = asyncio.run(benchmark(url, args.size, count, args.requests, args.concurrency))
    report(results, args.size, count)


if __name__ == "__main__":
    main()
