"""Soak the API with a bounded mixed workload: `python -m bench.soak --workers 1 --concurrency 32 --minutes 2`.

It starts `crm serve --workers N --no-demo` on a database holding the demo tenant (`crm demo`),
then `--concurrency` virtual users, each a closed loop (the next request leaves when the last one
is answered), send about 70 % reads (opportunity lists with nested account, owner, team and
partners; accounts with contacts; node lookups; counts) and 30 % writes (createOpportunity,
logActivity, updateOpportunity by account managers on their own records) for `--minutes`.

Reported per window (a minute unless `--window` says otherwise): requests, errors by kind
(timeouts, refused connections, HTTP statuses with 429 on its own, GraphQL error codes, payload
error codes), p50/p95/p99 latency, the RSS of every server process together, their CPU, and the
PostgreSQL connections of the database (pg_stat_activity). At the end, every acknowledged create
is looked up in the database: an acknowledged write that is missing is counted as lost.

Unless `--database-url` is given, the run uses its own database `crm_soak` on the server of
DATABASE_URL (or the embedded one), created afresh with the demo tenant so every run starts from
the same data; `--keep-data` reuses it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy.engine import make_url

from api.settings import Settings
from bench.processes import PostgresCpu
from infrastructure import migrations
from infrastructure.db import connect_raw, create_engine, session_factory

RESULTS = Path(__file__).parent / "results"
SOAK_DATABASE = "crm_soak"
DEMO_SLUG = "acme"
REQUEST_TIMEOUT_SECONDS = 30.0
READY_SECONDS = 90.0
SAMPLE_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 5.0

# Who reads: every kind of internal and partner role of the demo. Who writes: the account managers.
READERS = [
    "admin@acme.example", "director@acme.example", "manager.east@acme.example", "manager.north@acme.example",
    "channel@acme.example", "solution1@acme.example", "admin@north-dist.example", "manager@north-dist.example",
    "sales@dealer-n1.example", "admin@south-channel.example", "admin@dealer-s1.example",
]  # fmt: skip
WRITERS = [f"am{i}@acme.example" for i in range(1, 13)]
OPEN_STAGES = ["PROSPECTING", "QUALIFICATION", "SOLUTION", "PROPOSAL", "NEGOTIATION"]
ORDER_FIELDS = ["CREATED_AT", "UPDATED_AT", "NAME", "AMOUNT", "CLOSE_DATE"]

LIST_OPPORTUNITIES = """
query SoakOpportunities($first: Int!, $order: OpportunityOrder) {
  opportunities(first: $first, orderBy: $order) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node {
      id name stage amount { amount currency } closeDate probability
      account { id name owner { id name } }
      owner { id name }
      team { salesRole access user { id name } }
      partners { role organization { id name } }
    } }
  }
}
"""
LIST_ACCOUNTS = """
query SoakAccounts($first: Int!) {
  accounts(first: $first) {
    totalCount
    edges { node { id name industry lifecycleStage owner { id name } territory { id name }
                   contacts(first: 5) { edges { node { id } } } } }
  }
}
"""
NODE = """
query SoakNode($id: ID!) {
  node(id: $id) {
    id
    ... on Opportunity {
      name stage amount { amount currency } closeDate account { id name } owner { id name }
      team { salesRole user { id name } }
      activities(first: 5) { edges { node { id kind subject occurredAt } } }
    }
  }
}
"""
COUNTS = """
query SoakCounts($stages: [OpportunityStage!]) {
  open: opportunities(first: 0, filter: {stages: $stages}) { totalCount }
  all: opportunities(first: 0) { totalCount }
  accounts(first: 0) { totalCount }
}
"""
CREATE_OPPORTUNITY = """
mutation SoakCreate($input: CreateOpportunityInput!) {
  createOpportunity(input: $input) { opportunity { id name } errors { field code message } }
}
"""
LOG_ACTIVITY = """
mutation SoakLog($input: LogActivityInput!) {
  logActivity(input: $input) { activity { id } errors { field code message } }
}
"""
UPDATE_OPPORTUNITY = """
mutation SoakUpdate($input: UpdateOpportunityInput!) {
  updateOpportunity(input: $input) { opportunity { id amount { amount } } errors { field code message } }
}
"""
SETUP_READER = "query { opportunities(first: 100) { edges { node { id } } } }"
SETUP_WRITER = """
query SoakWriter($me: ID!, $stages: [OpportunityStage!]) {
  accounts(first: 100, filter: {ownerId: $me}) { edges { node { id } } }
  opportunities(first: 100, filter: {ownerId: $me, stages: $stages}) { edges { node { id } } }
}
"""
ME = "query { me { id } }"


@dataclass
class Persona:
    """A signed-in demo user and the records the workload may use as them."""

    email: str
    token: str
    opportunity_ids: list[str] = field(default_factory=list)
    account_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Request:
    """One GraphQL request of the workload: who sends it, and which payload (if a mutation) to check."""

    persona: Persona
    query: str
    variables: dict[str, Any]
    payload: str | None = None


@dataclass(frozen=True)
class Operation:
    """A kind of request, how often it is sent (weight out of 100), and how to build one."""

    name: str
    weight: int
    write: bool
    build: Callable[[random.Random, Personas, int], Request]


@dataclass
class Personas:
    """Who the workload reads as, and who it writes as (account managers, on their own records)."""

    readers: list[Persona]
    writers: list[Persona]

    def reader(self, rng: random.Random) -> Persona:
        return rng.choice(self.readers)

    def writer(self, rng: random.Random) -> Persona:
        return rng.choice(self.writers)


def _list_opportunities(rng: random.Random, who: Personas, n: int) -> Request:
    order = {"field": rng.choice(ORDER_FIELDS), "direction": rng.choice(["ASC", "DESC"])}
    return Request(who.reader(rng), LIST_OPPORTUNITIES, {"first": rng.choice([10, 25, 50]), "order": order})


def _list_accounts(rng: random.Random, who: Personas, n: int) -> Request:
    return Request(who.reader(rng), LIST_ACCOUNTS, {"first": 25})


def _node(rng: random.Random, who: Personas, n: int) -> Request:
    persona = rng.choice([p for p in who.readers if p.opportunity_ids] or who.writers)
    return Request(persona, NODE, {"id": rng.choice(persona.opportunity_ids)})


def _counts(rng: random.Random, who: Personas, n: int) -> Request:
    return Request(who.reader(rng), COUNTS, {"stages": rng.sample(OPEN_STAGES, rng.randint(1, 3))})


def _create_opportunity(rng: random.Random, who: Personas, n: int) -> Request:
    persona = who.writer(rng)
    close = date.today() + timedelta(days=rng.randint(30, 300))
    variables = {"input": {
        "accountId": rng.choice(persona.account_ids), "name": f"Soak deal {n}", "currency": "USD",
        "amount": f"{rng.randrange(5_000, 500_000, 100)}.00", "closeDate": close.isoformat(),
    }}  # fmt: skip
    return Request(persona, CREATE_OPPORTUNITY, variables, payload="createOpportunity")


def _log_activity(rng: random.Random, who: Personas, n: int) -> Request:
    persona = who.writer(rng)
    variables = {"input": {
        "kind": rng.choice(["CALL", "MEETING", "EMAIL"]), "subject": f"Soak follow-up {n}",
        "opportunityId": rng.choice(persona.opportunity_ids), "notes": "Logged by the soak benchmark.",
    }}  # fmt: skip
    return Request(persona, LOG_ACTIVITY, variables, payload="logActivity")


def _update_opportunity(rng: random.Random, who: Personas, n: int) -> Request:
    persona = who.writer(rng)
    variables = {"input": {"id": rng.choice(persona.opportunity_ids),
                           "amount": f"{rng.randrange(5_000, 500_000, 100)}.00"}}  # fmt: skip
    return Request(persona, UPDATE_OPPORTUNITY, variables, payload="updateOpportunity")


OPERATIONS = [
    Operation("list_opportunities", 25, False, _list_opportunities),
    Operation("list_accounts", 10, False, _list_accounts),
    Operation("node", 20, False, _node),
    Operation("counts", 15, False, _counts),
    Operation("create_opportunity", 10, True, _create_opportunity),
    Operation("log_activity", 10, True, _log_activity),
    Operation("update_opportunity", 10, True, _update_opportunity),
]


@dataclass(frozen=True)
class Outcome:
    """One answered (or failed) request: when it finished, how long it took, and its error kind if any."""

    finished: float
    operation: str
    seconds: float
    error: str | None
    created: tuple[str, str] | None = None  # (payload, global id) of an acknowledged create
    retry_after: float = 0.0  # what a 429 or 503 asked the client to wait
    budget_remaining: int | None = None  # RateLimit-Remaining: points left in the caller's tightest budget


@dataclass(frozen=True)
class Sample:
    """The server side at one moment: RSS and CPU seconds of every server process, and database connections."""

    at: float
    processes: int
    rss_bytes: int
    cpu_seconds: float
    connections: int
    active_connections: int
    postgres_cpu_seconds: float | None  # the whole server's, when on this machine; None when PostgreSQL is remote
    sessions_opened: int  # connections ever made to the database (pg_stat_database.sessions)


def first_error_code(body: Any) -> str | None:
    """The code of a response's first error: GraphQL's `extensions.code`, or `code` of the REST-style errors."""
    errors = body.get("errors") if isinstance(body, dict) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    found = first.get("extensions")
    extensions = found if isinstance(found, dict) else {}
    code = extensions.get("code") or first.get("code")
    return str(code) if code else None


def error_kind(response: httpx.Response, payload: str | None) -> tuple[str | None, dict[str, Any] | None]:
    """The kind of failure a response is ("http 429 RATE_LIMITED", "graphql CODE", "payload CODE"), or None; and
    the mutation's payload when it succeeded."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200:
        # 429 (a spent budget, or too many requests in progress) and 5xx name their code in the body, if any
        code = first_error_code(body)
        return f"http {response.status_code}" + (f" {code}" if code else ""), None
    if not isinstance(body, dict):
        return "http 200 not json", None
    if body.get("errors"):
        return f"graphql {first_error_code(body) or 'no code'}", None
    if payload is not None:
        result = (body.get("data") or {}).get(payload) or {}
        if result.get("errors"):
            return f"payload {result['errors'][0].get('code')}", None
        return None, result
    return None, None


def transport_kind(exc: httpx.TransportError) -> str:
    """The kind of failure a request that got no answer is."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused"
    return f"transport {type(exc).__name__}"


async def send(client: httpx.AsyncClient, operation: Operation, request: Request) -> Outcome:
    """Send one request and classify what came back."""
    started = time.perf_counter()
    created, retry_after, remaining = None, 0.0, None
    try:
        response = await client.post(
            "/graphql", json={"query": request.query, "variables": request.variables},
            headers={"Authorization": f"Bearer {request.persona.token}"},
        )  # fmt: skip
        error, result = error_kind(response, request.payload)
        if response.status_code in (429, 503):
            retry_after = _seconds(response.headers.get("retry-after"))
        if (header := response.headers.get("ratelimit-remaining", "")).lstrip("-").isdigit():
            remaining = int(header)
        if result is not None and operation.name in ("create_opportunity", "log_activity"):
            record = result.get("opportunity") or result.get("activity") or {}
            created = (request.payload or "", str(record.get("id")))
    except httpx.TransportError as exc:
        error = transport_kind(exc)
    finished = time.perf_counter()
    return Outcome(finished, operation.name, finished - started, error, created, retry_after, remaining)


def _seconds(retry_after: str | None) -> float:
    """A Retry-After header in seconds (0 when absent or a date), at most MAX_BACKOFF_SECONDS."""
    try:
        return min(MAX_BACKOFF_SECONDS, max(0.0, float(retry_after or 0)))
    except ValueError:
        return 0.0


async def drive(
    client: httpx.AsyncClient, personas: Personas, mix: list[Operation], concurrency: int, seconds: float, seed: int
) -> list[Outcome]:
    """Closed-loop virtual users sending the weighted mix until `seconds` have passed; every outcome."""
    outcomes: list[Outcome] = []
    deadline = time.perf_counter() + seconds
    weights = [op.weight for op in mix]

    async def user(index: int) -> None:
        rng = random.Random(seed * 1_000 + index)
        n = 0
        while time.perf_counter() < deadline:
            operation = rng.choices(mix, weights)[0]
            n += 1
            outcome = await send(client, operation, operation.build(rng, personas, seed * 10**7 + index * 10**5 + n))
            outcomes.append(outcome)
            if outcome.retry_after:  # a well-behaved client waits as it is told to
                await asyncio.sleep(min(outcome.retry_after, max(0.0, deadline - time.perf_counter())))

    await asyncio.gather(*(user(i) for i in range(concurrency)))
    return outcomes


def server_processes(pid: int) -> list[psutil.Process]:
    """The server process and every process it started (uvicorn's workers)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


async def sample(pid: int, db, postgres: PostgresCpu) -> Sample:
    """The server processes' RSS and CPU seconds, the database's client connections and their CPU, now."""
    rss, cpu, alive = 0, 0.0, 0
    for process in server_processes(pid):
        try:
            with process.oneshot():
                rss += process.memory_info().rss
                times = process.cpu_times()
                cpu += times.user + times.system
            alive += 1
        except psutil.NoSuchProcess:
            continue
    rows = await db.fetch(
        "SELECT pid, state FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    active = sum(1 for r in rows if r["state"] == "active")
    sessions = await db.fetchval("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
    return Sample(time.perf_counter(), alive, rss, cpu, len(rows), active, postgres.total(), int(sessions or 0))


async def sample_server(pid: int, db, postgres: PostgresCpu, stop: asyncio.Event, samples: list[Sample]) -> None:
    """A sample every SAMPLE_SECONDS until stopped, and one when stopped."""
    while True:
        try:
            await asyncio.wait_for(stop.wait(), SAMPLE_SECONDS)
        except TimeoutError:
            pass
        samples.append(await sample(pid, db, postgres))
        if stop.is_set():
            return


def percentile_ms(seconds: list[float], q: int) -> float | None:
    """The q-th percentile in milliseconds (None for no data)."""
    if not seconds:
        return None
    if len(seconds) == 1:
        return round(seconds[0] * 1000, 1)
    return round(statistics.quantiles(seconds, n=100, method="inclusive")[q - 1] * 1000, 1)


def summarise(outcomes: list[Outcome], samples: list[Sample], start: float, seconds: float, window: float) -> dict:
    """Per window and in total: requests, errors by kind, latency percentiles, memory, CPU and connections."""
    count = max(1, round(seconds / window))

    def index(at: float) -> int:
        return min(count - 1, max(0, int((at - start) // window)))

    windows = []
    previous = samples[0] if samples else None  # taken just before the load started
    for i in range(count):
        done = [o for o in outcomes if index(o.finished) == i]
        end = start + (i + 1) * window if i < count - 1 else float("inf")
        seen = [s for s in samples if start + i * window <= s.at < end]
        length = window if i < count - 1 else max(window, seconds - i * window)
        server_cpu, postgres_cpu = _cpu_percent(previous, seen[-1]) if seen and previous else (None, None)
        opened = seen[-1].sessions_opened - previous.sessions_opened if seen and previous else 0
        previous = seen[-1] if seen else previous
        windows.append(_figures(done, length) | {
            "window": i + 1,
            "server_rss_mb_max": round(max((s.rss_bytes for s in seen), default=0) / 2**20, 1),
            "server_processes": max((s.processes for s in seen), default=0),
            "server_cpu_percent": server_cpu,
            "postgres_cpu_percent": postgres_cpu,
            "pg_connections_max": max((s.connections for s in seen), default=0),
            "pg_active_max": max((s.active_connections for s in seen), default=0),
            "pg_connections_opened": opened,
        })  # fmt: skip
    totals = _figures(outcomes, seconds) | {
        "server_rss_mb_first": round(samples[0].rss_bytes / 2**20, 1) if samples else None,
        "server_rss_mb_last": round(samples[-1].rss_bytes / 2**20, 1) if samples else None,
        "pg_connections_max": max((s.connections for s in samples), default=0),
        "pg_connections_opened": samples[-1].sessions_opened - samples[0].sessions_opened if samples else 0,
        **_cpu_per_request(samples, len(outcomes)),
        "by_operation": {
            op.name: _figures([o for o in outcomes if o.operation == op.name], seconds) for op in OPERATIONS
        },
    }
    return {"windows": windows, "totals": totals}


def _cpu_percent(before: Sample, after: Sample) -> tuple[float | None, float | None]:
    """CPU of the server processes and of the database's backends between two samples, in % of one CPU."""
    elapsed = after.at - before.at
    if elapsed <= 0:
        return None, None
    server = round(100 * (after.cpu_seconds - before.cpu_seconds) / elapsed, 1)
    if after.postgres_cpu_seconds is None or before.postgres_cpu_seconds is None:
        return server, None
    return server, round(100 * (after.postgres_cpu_seconds - before.postgres_cpu_seconds) / elapsed, 1)


def _cpu_per_request(samples: list[Sample], requests: int) -> dict[str, float | None]:
    """CPU milliseconds the server and the database spent per request over the run: what contention does not change."""
    if len(samples) < 2 or not requests:
        return {"server_cpu_ms_per_request": None, "postgres_cpu_ms_per_request": None}
    first, last = samples[0], samples[-1]
    pg = None
    if first.postgres_cpu_seconds is not None and last.postgres_cpu_seconds is not None:
        pg = round(1000 * (last.postgres_cpu_seconds - first.postgres_cpu_seconds) / requests, 1)
    return {
        "server_cpu_ms_per_request": round(1000 * (last.cpu_seconds - first.cpu_seconds) / requests, 1),
        "postgres_cpu_ms_per_request": pg,
    }


def _figures(outcomes: list[Outcome], seconds: float) -> dict[str, Any]:
    latencies = [o.seconds for o in outcomes]
    writes = {op.name for op in OPERATIONS if op.write}
    return {
        "requests": len(outcomes),
        "writes": sum(1 for o in outcomes if o.operation in writes),
        "per_second": round(len(outcomes) / seconds, 1) if seconds else 0.0,
        "errors": dict(Counter(o.error for o in outcomes if o.error).most_common()),
        "p50_ms": percentile_ms(latencies, 50),
        "p95_ms": percentile_ms(latencies, 95),
        "p99_ms": percentile_ms(latencies, 99),
        "budget_remaining_min": min(
            (o.budget_remaining for o in outcomes if o.budget_remaining is not None), default=None
        ),
    }


async def prepare_database(url: str | None, keep_data: bool) -> tuple[str, bool]:
    """The database to soak (migrated, with the demo tenant) and whether it was made for this run."""
    if url is None:
        from api.embedded_postgres import resolve_database_url

        server = resolve_database_url(Settings.from_env())
        url = make_url(server).set(database=SOAK_DATABASE).render_as_string(hide_password=False)
        admin = await connect_raw(server)
        try:
            exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", SOAK_DATABASE)
            if exists and not keep_data:
                await admin.execute(f'DROP DATABASE "{SOAK_DATABASE}" WITH (FORCE)')
            if not exists or not keep_data:
                await admin.execute(f'CREATE DATABASE "{SOAK_DATABASE}"')
        finally:
            await admin.close()
    await asyncio.to_thread(migrations.upgrade, url)
    from services.demo import load_demo

    engine = create_engine(url, pool_size=2)
    try:
        summary = await load_demo(session_factory(engine), production=True)
    finally:
        await engine.dispose()
    return url, summary.created


async def sign_in(url: str, emails: list[str], ttl: int) -> dict[str, str]:
    """Access tokens for demo users, by e-mail."""
    from api.auth.tokens import issue_user_token

    db = await connect_raw(url)
    try:
        tenant_id = await db.fetchval("SELECT id FROM tenant WHERE slug = $1", DEMO_SLUG)
        rows = await db.fetch(
            "SELECT id, email FROM app_user WHERE tenant_id = $1 AND email = ANY($2::text[])", tenant_id, emails
        )
    finally:
        await db.close()
    engine = create_engine(url, pool_size=1)
    sessions = session_factory(engine)
    try:
        return {r["email"]: await issue_user_token(sessions, tenant_id, r["id"], ttl) for r in rows}
    finally:
        await engine.dispose()


async def personas_for(client: httpx.AsyncClient, tokens: dict[str, str]) -> Personas:
    """Each persona with the records it may use, found through the API as that user."""

    async def data(token: str, query: str, **variables: Any) -> dict[str, Any]:
        response = await client.post("/graphql", json={"query": query, "variables": variables},
                                     headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"setup query failed ({response.status_code}): {body}")
        return body["data"]

    def ids(connection: dict[str, Any]) -> list[str]:
        return [edge["node"]["id"] for edge in connection["edges"]]

    async def reader(email: str) -> Persona:
        persona = Persona(email, tokens[email])
        persona.opportunity_ids = ids((await data(persona.token, SETUP_READER))["opportunities"])
        return persona

    async def writer(email: str) -> Persona:
        persona = Persona(email, tokens[email])
        me = (await data(persona.token, ME))["me"]["id"]
        found = await data(persona.token, SETUP_WRITER, me=me, stages=OPEN_STAGES)
        persona.account_ids, persona.opportunity_ids = ids(found["accounts"]), ids(found["opportunities"])
        return persona

    readers = list(await asyncio.gather(*(reader(email) for email in READERS)))
    writers = [
        p for p in await asyncio.gather(*(writer(email) for email in WRITERS)) if p.account_ids and p.opportunity_ids
    ]
    if not writers:
        raise RuntimeError("no account manager of the demo has both accounts and open opportunities")
    return Personas(readers, writers)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, workers: int, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`crm serve --workers N --no-demo` with production settings on a free loopback port, output to a log file."""
    port = _free_port()
    crm = Path(sys.executable).with_name("crm")
    command = [str(crm)] if crm.exists() else [sys.executable, "-c", "from api.cli import main; main()"]
    env = {**os.environ, "DATABASE_URL": url, "CRM_ENV": "production"}
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*command, "serve", "--workers", str(workers), "--no-demo", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    return server, f"http://127.0.0.1:{port}"


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Stop the server as an operator would (SIGTERM: uvicorn drains and stops its workers), killing it if it hangs."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def _tail(log_path: Path) -> str:
    """The end of the server's log, to show why it did not start."""
    return log_path.read_text(errors="replace")[-4000:]


async def wait_ready(base: str, server: subprocess.Popen[bytes], log_path: Path) -> float:
    """Seconds until /readyz answers 200; fails with the server's log when it exits or never gets ready."""
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=5) as probe:
        while time.perf_counter() - started < READY_SECONDS:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited ({server.returncode}):\n{_tail(log_path)}")
            try:
                if (await probe.get("/readyz")).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the server was not ready within {READY_SECONDS:.0f} s:\n{_tail(log_path)}")


async def lost_writes(url: str, outcomes: list[Outcome]) -> dict[str, int]:
    """Acknowledged creates, and how many of them the database does not have."""
    from api.graphql.relay import parse_global_id

    wanted: dict[str, list[uuid.UUID]] = {"opportunity": [], "activity": []}
    for outcome in outcomes:
        if outcome.created is not None:
            parsed = parse_global_id(outcome.created[1])
            table = "opportunity" if outcome.created[0] == "createOpportunity" else "activity"
            wanted[table].append(parsed[1] if parsed else uuid.uuid4())
    db = await connect_raw(url)
    try:
        found = {
            "opportunity": await db.fetchval("SELECT count(*) FROM opportunity WHERE id = ANY($1::uuid[])",
                                             wanted["opportunity"]),
            "activity": await db.fetchval("SELECT count(*) FROM activity WHERE id = ANY($1::uuid[])",
                                          wanted["activity"]),
        }  # fmt: skip
    finally:
        await db.close()
    acknowledged = len(wanted["opportunity"]) + len(wanted["activity"])
    return {"acknowledged_creates": acknowledged, "lost": acknowledged - found["opportunity"] - found["activity"]}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpuinfo = Path("/proc/cpuinfo")
    models = (
        [line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")] if cpuinfo.exists() else []
    )
    cpu = models[0].split(":", 1)[1].strip() if models else platform.processor()
    return {
        "cpu": cpu, "cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "system": platform.platform(), "python": platform.python_version(),
    }  # fmt: skip


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    """Prepare the data, start the server, warm up, drive the workload, and return the report."""
    load_before = os.getloadavg()[0]  # others' work on this machine, before ours starts
    mix = [op for op in OPERATIONS if not args.only or op.name in args.only]
    url, fresh = await prepare_database(args.database_url, args.keep_data)
    seconds = args.minutes * 60
    tokens = await sign_in(url, READERS + WRITERS, ttl=int(args.warmup + seconds) + 3600)
    log_dir = Path(tempfile.mkdtemp(prefix="crm-soak-"))
    log_path = log_dir / "server.log"
    server, base = await asyncio.to_thread(start_server, url, args.workers, log_path)
    try:
        ready = await wait_ready(base, server, log_path)
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT_SECONDS, limits=limits) as client:
            personas = await personas_for(client, tokens)
            if args.warmup > 0:
                await drive(client, personas, mix, args.concurrency, args.warmup, seed=1)
            db = await connect_raw(url)
            postgres = await db.fetchval("SHOW server_version")
            postgres_cpu = PostgresCpu(await db.fetchval("SELECT pg_backend_pid()"))
            samples = [await sample(server.pid, db, postgres_cpu)]
            stop = asyncio.Event()
            sampler = asyncio.create_task(sample_server(server.pid, db, postgres_cpu, stop, samples))
            try:
                client_cpu = time.process_time()
                psutil.cpu_percent()
                start = time.perf_counter()
                outcomes = await drive(client, personas, mix, args.concurrency, seconds, seed=2)
                elapsed = time.perf_counter() - start
                client_cpu = time.process_time() - client_cpu
                machine_busy = psutil.cpu_percent()
            finally:
                stop.set()
                await sampler
                await db.close()
        server_alive = server.poll() is None
    finally:
        await asyncio.to_thread(stop_server, server)
    report = {
        "benchmark": "soak",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine()
        | {
            "postgres": postgres,
            "load_average_1m_before": round(load_before, 2),
            "cpu_busy_percent_during_run": machine_busy,
        },
        "settings": {
            "workers": args.workers,
            "concurrency": args.concurrency,
            "minutes": args.minutes,
            "window_seconds": args.window,
            "warmup_seconds": args.warmup,
            "mix": {op.name: op.weight for op in mix},
            "fresh_data": fresh,
        },  # fmt: skip
        "server": {"ready_seconds": round(ready, 1), "alive_at_end": server_alive, "log": str(log_path)},
        "load_generator_cpu_percent": round(100 * client_cpu / elapsed, 1),
        "writes": await lost_writes(url, outcomes),
    }
    return report | summarise(outcomes, samples, start, elapsed, args.window)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def print_report(report: dict[str, Any]) -> None:
    """The report as tables: one row per window, then the totals per operation.

    `budget` is the lowest RateLimit-Remaining any response carried: the points left in the tightest budget.
    """
    s, m = report["settings"], report["machine"]
    print(f"\nSoak: {s['workers']} server process(es), {s['concurrency']} concurrent, {s['minutes']} min "
          f"({report['date']}; {m['cpus']} CPUs, {m['cpu']}; PostgreSQL {m['postgres']})")  # fmt: skip
    head = f"{'window':>6}{'requests':>10}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'rss MB':>9}"
    print(head + f"{'srv cpu%':>9}{'pg cpu%':>8}{'pg conns':>10}{'opened':>8}{'budget':>10}  errors")
    for w in report["windows"]:
        errors = ", ".join(f"{kind}: {n}" for kind, n in w["errors"].items()) or "0"
        print(f"{w['window']:>6}{w['requests']:>10,}{w['per_second']:>8.1f}{_ms(w['p50_ms']):>8}{_ms(w['p95_ms']):>8}"
              f"{_ms(w['p99_ms']):>8}{w['server_rss_mb_max']:>9.0f}{_ms(w['server_cpu_percent']):>9}"
              f"{_ms(w['postgres_cpu_percent']):>8}{w['pg_connections_max']:>10}"
              f"{w['pg_connections_opened']:>8,}{_ms(w['budget_remaining_min']):>10}  {errors}")  # fmt: skip
    t = report["totals"]
    print(f"\n{'operation':<20}{'requests':>10}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}  errors")
    for name, f in [*t["by_operation"].items(), ("all", t)]:
        errors = ", ".join(f"{kind}: {n}" for kind, n in f["errors"].items()) or "0"
        print(
            f"{name:<20}{f['requests']:>10,}{_ms(f['p50_ms']):>8}{_ms(f['p95_ms']):>8}{_ms(f['p99_ms']):>8}  {errors}"
        )
    w = report["writes"]
    print(f"\nacknowledged creates: {w['acknowledged_creates']:,}, lost: {w['lost']}; "
          f"server RSS {t['server_rss_mb_first']} -> {t['server_rss_mb_last']} MB; "
          f"load generator CPU {report['load_generator_cpu_percent']} %")  # fmt: skip
    print(f"CPU per request: server {t['server_cpu_ms_per_request']} ms, "
          f"PostgreSQL {t['postgres_cpu_ms_per_request']} ms")  # fmt: skip
    print(f"machine: CPU busy {m['cpu_busy_percent_during_run']} % during the run (all CPUs, everyone's work), "
          f"load average {m['load_average_1m_before']} before it")  # fmt: skip


def _positive(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
        return value

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=_positive(int), default=1, help="server processes (crm serve --workers)")
    parser.add_argument("--concurrency", type=_positive(int), default=32, help="virtual users, each one in flight")
    parser.add_argument("--minutes", type=_positive(float), default=2.0, help="how long to measure")
    parser.add_argument("--window", type=_positive(float), default=60.0, help="seconds per reported window")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of load before measuring")
    parser.add_argument("--only", action="append", choices=[op.name for op in OPERATIONS], default=None,
                        help="send only this operation (repeatable), to see what one kind costs")  # fmt: skip
    parser.add_argument("--database-url", default=None, help="soak this database as is (default: a fresh crm_soak)")
    parser.add_argument("--keep-data", action="store_true", help="reuse crm_soak instead of recreating it")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of tables")
    parser.add_argument("--output", type=Path, default=None, help="where to write the JSON (default bench/results/)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    report = asyncio.run(soak(args))
    out = args.output
    if out is None:
        RESULTS.mkdir(exist_ok=True)
        out = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-soak-w{args.workers}-c{args.concurrency}.json"
    out.write_text(json.dumps(report, indent=2))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
        print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
