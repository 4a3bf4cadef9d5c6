"""Benchmark the catalogue against PostGraphile 5 and a raw floor: `python -m bench.run --size S|M`.

Three sides serve the same database, each in its own process pinned to one CPU: our API (uvicorn, production
settings), PostGraphile 5 with row-level security doing the same visibility (bench/postgraphile/), and the floor
(bench/floor.py: asyncpg + orjson, hand-written SQL with the same visibility). For every catalogue query
(bench/catalogue.py) and persona (admin, a distributor's partner manager, a dealer's partner sales rep), the run
first checks that the sides return the same rows, then counts each side's SQL statements per request, then
times them in interleaved rounds at --concurrency concurrent requests. Results go to a dated file in bench/results/
and into bench/results/latest.json (the newest row of every size, query, persona and side), and a table is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import postgraphile_side
from bench.catalogue import CATALOGUE, PERSONAS, Entry, Fixtures, Viewer
from bench.generate import SIZES, BenchTenant, connect, generate, slug_for
from bench.processes import (
    PostgresCpu,
    StatementLog,
    bench_database_url,
    free_port,
    plan_alike,
    process_cpu,
    start_floor,
    start_ours,
    wait_until_serving,
)
from infrastructure import migrations
from infrastructure.db import create_engine, session_factory

RESULTS = Path(__file__).parent / "results"
SIDES = ("ours", "postgraphile", "floor")
# Clients at once by default, the figure the goal is set at; rows written before rows named theirs ran at it.
DEFAULT_CONCURRENCY = 16


class Disagreement(AssertionError):
    """The sides returned different rows for the same query and persona: timing them would compare unlike work."""


@dataclass
class Side:
    """One running server and how to send it a catalogue query."""

    name: str
    process: subprocess.Popen[bytes]
    base: str
    client: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        self.client = httpx.AsyncClient(base_url=self.base, timeout=120, limits=limits)

    async def call(self, entry: Entry, viewer: Viewer, fixtures: Fixtures) -> Any:
        """The canonical form of this side's answer; raises on an error answer."""
        if self.name == "floor":
            response = await self.client.post(
                f"/{entry.name}",
                content=json.dumps(entry.ours_variables(fixtures) | _floor_variables(entry, fixtures)),
                headers={"X-Bench-Tenant": str(viewer.tenant_id), "X-Bench-User": str(viewer.user_id),
                         "X-Bench-Roles": ",".join(viewer.roles)},
            )  # fmt: skip
            if response.status_code != 200:
                raise RuntimeError(f"floor {entry.name} as {viewer.persona}: {response.status_code} {response.text}")
            return entry.floor_canonical(response.json())
        if self.name == "ours":
            document, variables, canonical = entry.ours, entry.ours_variables(fixtures), entry.ours_canonical
        else:
            assert entry.postgraphile is not None
            document, variables = entry.postgraphile, entry.postgraphile_variables(viewer, fixtures)
            canonical = entry.postgraphile_canonical
        response = await self.client.post(
            "/graphql", json={"query": document, "variables": variables},
            headers={"Authorization": f"Bearer {viewer.token}"},
        )  # fmt: skip
        body = response.json() if response.headers.get("content-type", "").startswith("application/") else None
        if response.status_code != 200 or body is None or body.get("errors"):
            raise RuntimeError(f"{self.name} {entry.name} as {viewer.persona}: {response.status_code} {response.text}")
        return canonical(body["data"])

    def cpu(self) -> float:
        return process_cpu(self.process.pid)


def _floor_variables(entry: Entry, fixtures: Fixtures) -> dict[str, Any]:
    """The floor takes our variables, with plain ids."""
    if entry.name == "deal_page":
        return {"id": str(fixtures.deal_id)}
    if entry.name == "log_activity":
        return {"deal": str(fixtures.write_deal_id)}
    return {}


@dataclass
class Timing:
    """What one side did for one query and persona, over all rounds."""

    requests: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    # PostgreSQL's CPU over the same requests, the whole server's (None when it is not on this machine): under
    # load every side shares the machine's cores with it, so what a side costs the database bounds its req/s too.
    postgres_cpu_seconds: float | None = 0.0
    latencies: list[float] = field(default_factory=list)
    statements: float | None = None
    errors: int = 0  # answers that were errors (a 503 when our pool ran dry, say): timed, and counted here

    def row(self, query: str, persona: str, side: str, size: str, concurrency: int) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            return round(1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)

        return {
            "query": query, "persona": persona, "side": side, "size": size, "concurrency": concurrency,
            "requests": self.requests,
            "rps": round(self.requests / self.seconds, 1), "p50_ms": round(1000 * statistics.median(ordered), 2),
            "p99_ms": pct(0.99), "cpu_ms_per_request": round(1000 * self.cpu_seconds / self.requests, 2),
            "statements_per_request": None if self.statements is None else round(self.statements, 2),
            "postgres_cpu_ms_per_request": None if self.postgres_cpu_seconds is None
                                           else round(1000 * self.postgres_cpu_seconds / self.requests, 2),
            "errors": self.errors,
        }  # fmt: skip


async def _closed_loop(n: int, concurrency: int, call: Callable[[], Awaitable[Any]]) -> tuple[float, list[float]]:
    """Send n calls from `concurrency` workers, each the next when the last is answered; wall seconds, latencies."""
    queue = iter(range(n))
    latencies: list[float] = []

    async def worker() -> None:
        for _ in queue:
            start = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies


async def viewers_of(url: str, tenant: BenchTenant) -> dict[str, Viewer]:
    """The three personas, with access tokens our API signed."""
    from api.auth.tokens import issue_user_token

    people = {"admin": tenant.admin_id, "distributor": tenant.partner_manager_id, "dealer": tenant.dealer_sales_id}
    engine = create_engine(url, pool_size=1)
    sessions = session_factory(engine)
    conn = await connect(url)
    try:
        rows = await conn.fetch("SELECT id, roles FROM app_user WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
                                tenant.tenant_id, list(people.values()))  # fmt: skip
        roles = {row["id"]: row["roles"] for row in rows}
        return {
            persona: Viewer(persona, tenant.tenant_id, user_id, tuple(roles[user_id]),
                            await issue_user_token(sessions, tenant.tenant_id, user_id, 7200))
            for persona, user_id in people.items()
        }  # fmt: skip
    finally:
        await conn.close()
        await engine.dispose()


async def jwks_of(url: str) -> dict[str, object]:
    """Our API's public signing keys (what /.well-known/jwks.json serves)."""
    from api.auth.keys import key_ring

    engine = create_engine(url, pool_size=1)
    try:
        return (await key_ring(session_factory(engine))).public_jwks()
    finally:
        await engine.dispose()


async def fixtures_of(url: str, tenant: BenchTenant) -> Fixtures:
    """The deal page's deal (the dealer's first deal with a quote) and logActivity's (the dealer's first without)."""
    conn = await connect(url)
    try:
        linked = """SELECT o.id, o.account_id FROM opportunity o JOIN opportunity_partner p ON p.tenant_id = o.tenant_id
                    AND p.opportunity_id = o.id WHERE o.tenant_id = $1 AND p.organization_id = $2
                    AND {quoted} EXISTS (SELECT 1 FROM quote q WHERE q.tenant_id = o.tenant_id
                                         AND q.opportunity_id = o.id) ORDER BY o.name LIMIT 1"""
        deal = await conn.fetchrow(linked.format(quoted=""), tenant.tenant_id, tenant.dealer_id)
        write = await conn.fetchrow(linked.format(quoted="NOT"), tenant.tenant_id, tenant.dealer_id)
    finally:
        await conn.close()
    if deal is None or write is None:
        raise RuntimeError("the generated tenant has no quoted deal of the dealer: regenerate it")
    return Fixtures(deal_id=deal["id"], write_deal_id=write["id"], write_account_id=write["account_id"])


@dataclass
class Bench:
    """Everything a run needs, started."""

    url: str
    size: str
    viewers: dict[str, Viewer]
    fixtures: Fixtures
    sides: dict[str, Side]
    postgres: PostgresCpu

    async def agree(self, entry: Entry, persona: str) -> Any:
        """Each side's canonical answer, once; raises Disagreement unless they are all equal."""
        viewer = self.viewers[persona]
        answers = {name: await side.call(entry, viewer, self.fixtures) for name, side in self.sides.items()
                   if name != "postgraphile" or entry.postgraphile is not None}  # fmt: skip
        reference = answers["ours"]
        for name, answer in answers.items():
            if answer != reference:
                raise Disagreement(
                    f"{entry.name} as {persona}: {name} differs from ours\n ours: {reference}\n {name}: {answer}"
                )
        if reference is None or (isinstance(reference, dict) and "errors" in reference):
            raise Disagreement(f"{entry.name} as {persona}: nothing to compare ({reference})")
        return reference

    def sides_for(self, entry: Entry) -> list[str]:
        return [s for s in SIDES if s != "postgraphile" or entry.postgraphile is not None]

    async def count_statements(self, log: StatementLog, entry: Entry, persona: str, side: str, n: int = 10) -> float:
        viewer, target = self.viewers[persona], self.sides[side]
        offset = await log.start()
        for _ in range(n):
            await target.call(entry, viewer, self.fixtures)
        return await log.stop(offset) / n

    async def time(self, entry: Entry, persona: str, side: str, n: int, concurrency: int, timing: Timing) -> None:
        viewer, target = self.viewers[persona], self.sides[side]

        async def call() -> None:
            try:
                await target.call(entry, viewer, self.fixtures)
            except RuntimeError as error:  # an error answer under load is a result, reported with the row
                timing.errors += 1
                print(f"error answer: {str(error)[:300]}", flush=True)
            except httpx.TransportError as error:  # so is a connection the server dropped: counted, named
                timing.errors += 1
                print(f"{side} {entry.name} as {persona}: {type(error).__name__} {error}", flush=True)

        for _ in range(3):
            try:
                await target.call(entry, viewer, self.fixtures)
            except httpx.TransportError:  # a kept-alive connection the server closed while the bench checked answers
                await target.call(entry, viewer, self.fixtures)
        cpu_before, postgres_before = target.cpu(), self.postgres.total()
        seconds, latencies = await _closed_loop(n, concurrency, call)
        timing.cpu_seconds += target.cpu() - cpu_before
        postgres_after = self.postgres.total()
        if postgres_before is None or postgres_after is None or timing.postgres_cpu_seconds is None:
            timing.postgres_cpu_seconds = None
        else:
            timing.postgres_cpu_seconds += postgres_after - postgres_before
        timing.seconds += seconds
        timing.requests += n
        timing.latencies += latencies


async def start_bench(url: str, size: str, count: int, cpus: dict[str, int | None]) -> tuple[Bench, list[Side]]:
    """Generate the data if needed, apply the row-level security and start the three servers."""
    tenant = await generate(url, count, slug_for(size, count))
    await postgraphile_side.apply_row_level_security(url)
    await plan_alike(url)
    node_modules = await asyncio.to_thread(postgraphile_side.install)
    viewers = await viewers_of(url, tenant)
    fixtures = await fixtures_of(url, tenant)
    jwks = await jwks_of(url)
    conn = await connect(url)
    try:
        postgres = PostgresCpu(await conn.fetchval("SELECT pg_backend_pid()"))
    finally:
        await conn.close()
    ports = {name: free_port() for name in SIDES}
    processes = {
        "ours": start_ours(url, ports["ours"], cpus["ours"]),
        "postgraphile": postgraphile_side.start(url, jwks, ports["postgraphile"], node_modules,
                                                cpu=cpus["postgraphile"]),
        "floor": start_floor(url, ports["floor"], cpus["floor"]),
    }  # fmt: skip
    sides = {name: Side(name, process, f"http://127.0.0.1:{ports[name]}") for name, process in processes.items()}
    try:
        for name, side in sides.items():
            await wait_until_serving(side.process, side.base + ("/readyz" if name == "ours" else "/"), name)
    except BaseException:
        await stop_sides(list(sides.values()))
        raise
    return Bench(url, size, viewers, fixtures, sides, postgres), list(sides.values())


async def stop_sides(sides: list[Side]) -> None:
    for side in sides:
        await side.client.aclose()
        side.process.terminate()
    for side in sides:
        try:
            side.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            side.process.kill()


def _cpus(pin: int | None) -> dict[str, int | None]:
    """Every server on the same core (they are timed one at a time), the driver on another when there is one."""
    if pin is None:
        return dict.fromkeys(SIDES)
    if os.cpu_count() and os.cpu_count() > 1:  # type: ignore[operator]
        others = set(range(os.cpu_count() or 1)) - {pin}
        os.sched_setaffinity(0, others)
    return dict.fromkeys(SIDES, pin)


async def benchmark(url: str, size: str, count: int, n: int, concurrency: int, rounds: int, pin: int | None,
                    only: list[str] | None) -> list[dict[str, Any]]:  # fmt: skip
    bench, sides = await start_bench(url, size, count, _cpus(pin))
    entries = [e for e in CATALOGUE if not only or e.name in only]
    timings: dict[tuple[str, str, str], Timing] = {}
    try:
        log = await StatementLog.open(url)
        for entry in entries:
            for persona in PERSONAS:
                await bench.agree(entry, persona)
                for side in bench.sides_for(entry):
                    timing = timings.setdefault((entry.name, persona, side), Timing())
                    if log.available:
                        timing.statements = await bench.count_statements(log, entry, persona, side)
        print(f"all sides agree on {len(entries)} queries x {len(PERSONAS)} personas", flush=True)
        for round_number in range(rounds):
            for entry in entries:
                for persona in PERSONAS:
                    await bench.agree(entry, persona)  # again, right before timing it
                    order = bench.sides_for(entry)
                    order = order[round_number % len(order) :] + order[: round_number % len(order)]
                    for side in order:
                        await bench.time(entry, persona, side, n, concurrency, timings[(entry.name, persona, side)])
            print(f"round {round_number + 1}/{rounds} done", flush=True)
    finally:
        await stop_sides(sides)
    return [t.row(q, p, s, size, concurrency) for (q, p, s), t in timings.items()]


def _sides(cells: list[dict[str, Any] | None], key: str, spec: str) -> str:
    return " / ".join("n/a" if r is None or r.get(key) is None else format(r[key], spec) for r in cells)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as the README's table: one line per query and persona, the three sides side by side."""
    lines = [
        "| query | persona | req/s ours / PostGraphile / floor | CPU ms per request | PostgreSQL CPU ms per request "
        "| p50 ms | p99 ms | SQL per request |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by = {(r["query"], r["persona"], r["side"]): r for r in rows}
    for query, persona in dict.fromkeys((r["query"], r["persona"]) for r in rows):
        cells = [by.get((query, persona, side)) for side in SIDES]
        columns = [_sides(cells, "rps", ".1f"), _sides(cells, "cpu_ms_per_request", ".2f"),
                   _sides(cells, "postgres_cpu_ms_per_request", ".2f"), _sides(cells, "p50_ms", ".0f"),
                   _sides(cells, "p99_ms", ".0f"), _sides(cells, "statements_per_request", ".1f")]  # fmt: skip
        lines.append(f"| {query} | {persona} | " + " | ".join(columns) + " |")
    return "\n".join(lines)


def report(rows: list[dict[str, Any]], size: str, count: int, concurrency: int) -> Path:
    """Print the table and write latest.json and its dated copy."""
    print(f"\n{count:,} opportunities ({size}), {concurrency} concurrent")
    header = ("query", "persona", "side", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "PG ms/req", "SQL/req")
    print(f"{header[0]:<18}{header[1]:<13}{header[2]:<14}" + "".join(f"{h:>11}" for h in header[3:]))
    for r in rows:
        statements = "" if r["statements_per_request"] is None else f"{r['statements_per_request']:.1f}"
        postgres = "" if r["postgres_cpu_ms_per_request"] is None else f"{r['postgres_cpu_ms_per_request']:.2f}"
        print(f"{r['query']:<18}{r['persona']:<13}{r['side']:<14}{r['rps']:>11.1f}{r['p50_ms']:>11.1f}"
              f"{r['p99_ms']:>11.1f}{r['cpu_ms_per_request']:>11.2f}{postgres:>11}{statements:>11}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    dated = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-catalogue-{size}.json"
    dated.write_text(json.dumps(rows, indent=2))
    # latest.json keeps the newest row of every (size, concurrency, query, persona, side): an M run does not drop
    # the S rows, nor a run of one client at a time (the CPU of a request without the others') the 16 clients' rows.
    latest = RESULTS / "latest.json"

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        return r["size"], r.get("concurrency", DEFAULT_CONCURRENCY), r["query"], r["persona"], r["side"]

    fresh = {key(r) for r in rows}
    kept = [r for r in (json.loads(latest.read_text()) if latest.exists() else []) if key(r) not in fresh]
    latest.write_text(json.dumps(kept + rows, indent=2))
    print(f"\nwritten to {RESULTS / 'latest.json'} and {dated}\n\n{markdown(rows)}")
    return dated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--count", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=100, help="requests per query, persona, side and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument(
        "--cpu",
        type=int,
        default=None,
        help="the core every server is pinned to (default: the last one; -1 to not pin)",
    )
    parser.add_argument("--only", action="append", help="a catalogue query to run (repeatable; default all)")
    parser.add_argument("--database-url", default=None, help="default: the bench's own embedded PostgreSQL")
    args = parser.parse_args()
    url = args.database_url or bench_database_url()
    migrations.upgrade(url)
    count = args.count or SIZES[args.size]
    pin = (os.cpu_count() or 1) - 1 if args.cpu is None else (None if args.cpu < 0 else args.cpu)
    rows = asyncio.run(benchmark(url, args.size, count, args.requests, args.concurrency, args.rounds, pin, args.only))
    report(rows, args.size, count, args.concurrency)


if __name__ == "__main__":
    main()
