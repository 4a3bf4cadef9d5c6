"""The database goes away or hangs (issue #11): faults driven for real on a PostgreSQL of this module's own.

The server is stopped (`pg_ctl stop -m fast`) and frozen (SIGSTOP on the postmaster and its backends) under the
app served by uvicorn on a local port. Each test prints what it measured (run with `-s` to see the figures).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import uvicorn
from starlette.applications import Starlette

from api.app import create_app
from api.auth.tokens import issue_user_token
from api.settings import Settings
from infrastructure import migrations
from infrastructure.db import (
    DatabaseTimeouts,
    DatabaseTrouble,
    connect_raw,
    create_engine,
    database_trouble,
    planner_settings,
    session_factory,
)
from tests.conftest import create_database
from tests.integration.world import build_world

# Short bounds, so that faults show within seconds.
TIMEOUTS = DatabaseTimeouts(connect=1.0, statement=2.0, idle_in_transaction=10.0, pool=2.0)
REQUEST_TIMEOUT = 8.0
READY_TIMEOUT = 0.5

ME = "{ me { email } }"
OPPORTUNITIES = "{ opportunities(first: 10) { edges { node { id name } } } }"
# Backends of the app whose statement waits on the opportunity table, which the tests hold locked to keep such a
# statement running. (pg_stat_activity would not do: a statement waiting in its Parse step shows there as idle.)
RUNNING_OPPORTUNITY_QUERIES = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'opportunity'::regclass"


class OwnPostgres:
    """A PostgreSQL of this module's own (pgserver's binaries), which the tests stop, start, freeze and thaw."""

    def __init__(self, pgdata: Path) -> None:
        import pgserver

        self.pgdata = pgdata
        self.server = pgserver.get_server(pgdata, cleanup_mode=None)  # stopped and deleted by close()
        info = self.server.get_postmaster_info()
        self.socket_dir = info.socket_dir
        self.url = self.server.get_uri()
        self.frozen: list[psutil.Process] = []

    def _pg_ctl(self, *args: str) -> None:
        import pgserver

        pgserver.pg_ctl(list(args), pgdata=self.pgdata, user=self.server.system_user, timeout=30)

    def stop(self) -> None:
        """Stop as an operator would in a hurry: sessions are ended, the socket goes away."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        """Start it again where it was (pgserver's own start command, the same socket)."""
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.pgdata / "log"), "start")

    def processes(self) -> list[psutil.Process]:
        postmaster = psutil.Process(int((self.pgdata / "postmaster.pid").read_text().split()[0]))
        return [postmaster, *postmaster.children(recursive=True)]

    def freeze(self) -> None:
        """SIGSTOP the postmaster and every backend: connections stay open and nothing answers."""
        self.frozen = self.processes()
        for process in self.frozen:
            with contextlib.suppress(psutil.NoSuchProcess):  # a backend may end between listing and signalling
                process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        for process in self.frozen:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGCONT)
        self.frozen = []

    def ensure_running(self) -> None:
        """Thawed and started, whatever a test left it as."""
        self.thaw()
        if not (self.pgdata / "postmaster.pid").exists():
            self.start()

    def close(self) -> None:
        self.thaw()
        if (self.pgdata / "postmaster.pid").exists():
            self._pg_ctl("-w", "-m", "immediate", "stop")


@dataclass
class Served:
    """An app under uvicorn on a local port, and a signed-in user's token."""

    app: Starlette
    server: uvicorn.Server
    base_url: str
    token: str

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=30, **kwargs)

    async def graphql(self, client: httpx.AsyncClient, query: str) -> httpx.Response:
        return await client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {self.token}"})


@dataclass
class Site:
    pg: OwnPostgres
    database_url: str
    main: Served  # the short bounds above
    patient: Served  # long database and request bounds: only a client going away stops its requests
    hasty: Served  # a request timeout shorter than the statement timeout


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    with tempfile.TemporaryDirectory(prefix="crm-faults-pg-") as data_dir:
        pg = OwnPostgres(Path(data_dir))
        try:
            yield pg
        finally:
            pg.close()


@pytest.fixture(autouse=True)
def database_left_running(own_postgres: OwnPostgres) -> Iterator[None]:
    """Each test starts on, and leaves behind, a running database, even when it fails in the middle of a fault."""
    own_postgres.ensure_running()
    yield
    own_postgres.ensure_running()


async def serve(app: Starlette, token: str) -> AsyncIterator[Served]:
    """Run the app under uvicorn in this event loop, on a free local port, until the generator closes."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None, access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    try:
        yield Served(app, server, f"http://127.0.0.1:{sock.getsockname()[1]}", token)
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture(scope="module")
def own_database_url(own_postgres: OwnPostgres) -> str:
    """The `crm` database on that server, migrated (a sync fixture: Alembic runs its own event loop)."""
    url = create_database(own_postgres.url, "crm")
    migrations.upgrade(url)
    return url


@pytest.fixture(scope="module")
async def site(
    own_postgres: OwnPostgres, own_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    url = own_database_url
    engine = create_engine(url, pool_size=2)
    sessions = session_factory(engine)
    world = await build_world(sessions)
    token = await issue_user_token(sessions, world.tenant_id, world.users["am_east"].id)
    await engine.dispose()
    data_dir = tmp_path_factory.mktemp("crm-faults")

    def app(timeouts: DatabaseTimeouts, request_timeout: float) -> Starlette:
        settings = Settings(
            database_url=url,
            data_dir=data_dir,
            production=False,
            request_timeout_seconds=request_timeout,
            ready_timeout_seconds=READY_TIMEOUT,
            database_timeouts=timeouts,
        )
        return create_app(settings, database_url=url)

    patient = DatabaseTimeouts(connect=5.0, statement=60.0, pool=5.0)
    hasty = DatabaseTimeouts(connect=1.0, statement=30.0, pool=2.0)
    servers = [
        serve(app(TIMEOUTS, REQUEST_TIMEOUT), token),
        serve(app(patient, 60.0), token),
        serve(app(hasty, 1.0), token),
    ]
    main, slow, quick = [await anext(s) for s in servers]
    try:
        yield Site(own_postgres, url, main, slow, quick)
    finally:
        for s in servers:
            await s.aclose()


async def eventually(check: Callable[[], Awaitable[bool]], within: float) -> float:
    """Seconds until `check` holds, polling; fails the test past `within` seconds."""
    began = time.monotonic()
    while not await check():
        assert time.monotonic() - began < within, f"not within {within} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - began


async def locked_opportunities(database_url: str):  # type: ignore[no-untyped-def]
    """A connection holding the opportunity table locked, so that a query of it keeps its backend busy."""
    locker = await connect_raw(database_url)
    await locker.execute("BEGIN; LOCK TABLE opportunity IN ACCESS EXCLUSIVE MODE")
    return locker


async def running_opportunity_queries(connection) -> int:  # type: ignore[no-untyped-def]
    return int(await connection.fetchval(RUNNING_OPPORTUNITY_QUERIES))


def assert_unavailable(response: httpx.Response) -> dict[str, Any]:
    """A JSON 503 with Retry-After, kept alive; returns the body."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert int(response.headers["retry-after"]) > 0
    assert response.headers.get("connection", "").lower() != "close"
    body: dict[str, Any] = response.json()
    assert "Unexpected error" not in response.text
    return body


def local_port(response: httpx.Response) -> int:
    """The client's end of the TCP connection the response came on."""
    return int(response.extensions["network_stream"].get_extra_info("client_addr")[1])


def outage_lines(caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str]]:
    messages = [r.getMessage() for r in caplog.records if r.name == "crm.resilience"]
    return (
        [m for m in messages if m.startswith("database unavailable")],
        [m for m in messages if m.startswith("database answering again")],
    )


def assert_no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    noisy = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not noisy, [(r.name, r.getMessage()) for r in noisy]


async def test_stopped_database_answers_json_503_at_once_keeps_connections_and_recovers(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    served = site.main
    latencies: list[float] = []

    async def request(send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        began = time.monotonic()
        response = await send()
        latencies.append(time.monotonic() - began)
        return response

    async with served.client(limits=httpx.Limits(max_connections=1)) as keeper, served.client() as others:
        # Given a service that answers, and a request whose GraphQL field is waiting in the database
        ok = await served.graphql(keeper, ME)
        assert ok.status_code == 200 and ok.json()["data"]["me"]["email"]
        port = local_port(ok)
        locker = await locked_opportunities(site.database_url)
        try:
            waiting = asyncio.create_task(served.graphql(others, OPPORTUNITIES))
            await eventually(lambda: running_opportunity_queries(locker), within=5)

            # When PostgreSQL is stopped (fast: every session is ended)
            await asyncio.to_thread(site.pg.stop)
            stopped_at = time.monotonic()
        finally:
            locker.terminate()

        # Then the field that was waiting fails as SERVICE_UNAVAILABLE, in a 503, not as "Unexpected error."
        body = assert_unavailable(await waiting)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["SERVICE_UNAVAILABLE"]
        assert body["errors"][0]["path"] == ["opportunities"]

        # And every request while it is down is a JSON 503 at once, in the shape its endpoint's clients read:
        # GraphQL (the sign-in lookup of the middleware fails first), sign-in, the token endpoint, the public forms
        kinds = {
            "graphql": lambda: served.graphql(others, ME),
            "login": lambda: others.post("/auth/login", json={"tenant": "x", "email": "a@b.c", "password": "p"}),
            "token": lambda: others.post(
                "/oauth/token", data={"grant_type": "client_credentials", "client_id": "c", "client_secret": "s"}
            ),
            "form": lambda: others.get("/forms/no-such-form/token"),
        }
        while time.monotonic() - stopped_at < 1.5:
            answers = await asyncio.gather(*(request(kind) for kind in kinds.values() for _ in range(4)))
            for answer in answers:
                assert_unavailable(answer)
            assert answers[0].json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            assert answers[4].json()["error"]["code"] == "SERVICE_UNAVAILABLE"
            assert answers[8].json()["error"] == "temporarily_unavailable"
            assert answers[12].json()["errors"][0]["code"] == "SERVICE_UNAVAILABLE"
            assert answers[12].headers["access-control-allow-origin"] == "*"  # the form's own page may read it
            on_keeper = await request(lambda: served.graphql(keeper, ME))
            assert_unavailable(on_keeper)
            assert local_port(on_keeper) == port  # the same connection throughout: nothing was closed
        ready = await keeper.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
        assert local_port(ready) == port
        # At once: nothing waits on the 1 s connect timeout (the margin is for a busy machine).
        assert statistics.median(latencies) < 0.5 and max(latencies) < 1.5, latencies

        # When it is started again, the first request succeeds within a second, without restarting the service
        await asyncio.to_thread(site.pg.start)
        back_at = time.monotonic()

        async def answers_again() -> bool:
            return (await served.graphql(keeper, ME)).status_code == 200

        recovery = await eventually(answers_again, within=1.0)
        assert (await keeper.get("/readyz")).status_code == 200

    # And the outage was logged once when it began and once when it ended, with no traceback at all
    began, ended = outage_lines(caplog)
    assert len(began) == 1 and len(ended) == 1, (began, ended)
    assert_no_tracebacks(caplog)
    print(
        f"\nstopped {back_at - stopped_at:.1f} s: {len(latencies)} requests, all JSON 503, median "
        f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms; first success "
        f"{recovery:.2f} s after the start returned; log: {began[0]!r} / {ended[0]!r}"
    )


async def test_frozen_database_bounds_requests_and_readyz_then_recovers(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    served = site.main
    async with served.client() as client:
        # Given a pool of connections that have answered
        warm = await asyncio.gather(*(served.graphql(client, ME) for _ in range(4)))
        assert [r.status_code for r in warm] == [200] * 4

        async def timed(send: Callable[[], Awaitable[httpx.Response]]) -> tuple[httpx.Response, float]:
            began = time.monotonic()
            response = await send()
            return response, time.monotonic() - began

        # When every PostgreSQL process is frozen: connections stay open and nothing answers
        site.pg.freeze()
        frozen_at = time.monotonic()
        try:
            requests = [asyncio.create_task(timed(lambda: served.graphql(client, ME))) for _ in range(6)]
            # Then /readyz says 503 within its own timeout, while those requests wait
            ready, ready_seconds = await timed(lambda: client.get("/readyz"))
            assert ready.status_code == 503 and "did not answer" in ready.json()["reason"]
            assert ready_seconds < READY_TIMEOUT + 0.5
            # And the requests end as 503 within the database bounds (a pooled connection's ping gives up after the
            # statement timeout and its grace, a new connection after the connect timeout), not the request bound
            results = await asyncio.gather(*requests)
            for response, _ in results:
                assert_unavailable(response)
            slowest = max(seconds for _, seconds in results)
            assert slowest < REQUEST_TIMEOUT
        finally:
            site.pg.thaw()
        thawed_at = time.monotonic()

        # When it is thawed, the first request succeeds within a second
        async def answers_again() -> bool:
            return (await served.graphql(client, ME)).status_code == 200

        recovery = await eventually(answers_again, within=1.0)
    began_lines, ended_lines = outage_lines(caplog)
    assert len(began_lines) == 1 and len(ended_lines) == 1, (began_lines, ended_lines)
    assert_no_tracebacks(caplog)
    print(
        f"\nfrozen: /readyz 503 in {ready_seconds * 1000:.0f} ms; 6 requests 503 in "
        f"{min(s for _, s in results):.1f}-{slowest:.1f} s; first success {recovery:.2f} s after thaw "
        f"({thawed_at - frozen_at:.1f} s frozen); log: {began_lines[0]!r}"
    )


async def test_a_statement_past_the_statement_timeout_is_a_503(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    locker = await locked_opportunities(site.database_url)
    try:
        async with site.main.client() as client:
            began = time.monotonic()
            response = await site.main.graphql(client, OPPORTUNITIES)
            seconds = time.monotonic() - began
    finally:
        await locker.close()
    body = assert_unavailable(response)
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "did not finish in time" in body["errors"][0]["message"]
    assert TIMEOUTS.statement is not None and TIMEOUTS.statement <= seconds < TIMEOUTS.statement + 1
    assert outage_lines(caplog) == ([], [])  # a slow statement is not an outage
    assert_no_tracebacks(caplog)
    print(f"\nstatement timeout {TIMEOUTS.statement} s: answered 503 after {seconds:.2f} s")


async def test_a_request_past_the_request_timeout_is_a_504_and_its_query_stops(site: Site) -> None:
    locker = await locked_opportunities(site.database_url)
    try:
        async with site.hasty.client() as client:
            began = time.monotonic()
            response = await site.hasty.graphql(client, OPPORTUNITIES)
            seconds = time.monotonic() - began
        assert response.status_code == 504, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
        assert 1.0 <= seconds < 2.0
        stopped = await eventually(lambda: _none_running(locker), within=1.0)
    finally:
        await locker.close()
    print(f"\nrequest timeout 1 s: answered 504 after {seconds:.2f} s; its query gone {stopped:.2f} s later")


async def _none_running(connection) -> bool:  # type: ignore[no-untyped-def]
    return await running_opportunity_queries(connection) == 0


async def test_a_request_whose_client_goes_away_stops_its_database_work(site: Site) -> None:
    locker = await locked_opportunities(site.database_url)
    try:
        async with site.patient.client() as client:
            # Given a heavy request running in the database (waiting on the lock: its statement could wait a minute)
            request = asyncio.create_task(site.patient.graphql(client, OPPORTUNITIES))
            await eventually(lambda: running_opportunity_queries(locker), within=5)
            # When its client goes away
            request.cancel()
            gone_at = time.monotonic()
            with pytest.raises(asyncio.CancelledError):
                await request
        # Then its query stops running within a second (at once, in fact; a minute without the guard)
        stopped = await eventually(lambda: _none_running(locker), within=1.0)
    finally:
        await locker.close()
    # And the service goes on answering on the connections it has
    async with site.patient.client() as client:
        assert (await site.patient.graphql(client, OPPORTUNITIES)).status_code == 200
    print(f"\nclient went away: its query stopped {stopped:.2f} s later ({time.monotonic() - gone_at:.2f} s in all)")


def test_timeouts_come_from_the_environment_and_bad_values_are_named() -> None:
    timeouts = DatabaseTimeouts.from_env({"CRM_DB_STATEMENT_TIMEOUT": "12.5", "CRM_DB_CONNECT_TIMEOUT": "3"})
    assert (timeouts.statement, timeouts.connect, timeouts.pool) == (12.5, 3.0, DatabaseTimeouts().pool)
    assert timeouts.connect_args()["server_settings"] == {
        "statement_timeout": "12500",
        "idle_in_transaction_session_timeout": "60000",
    }
    for bad in ("soon", "0", "-1", "nan", "86401"):
        with pytest.raises(ValueError, match=r"CRM_DB_POOL_TIMEOUT must be a number of seconds"):
            DatabaseTimeouts.from_env({"CRM_DB_POOL_TIMEOUT": bad})


async def test_the_service_sessions_price_index_probes_below_the_default_and_the_environment_can_change_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def random_page_cost() -> str:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with engine.connect() as connection:
                return str((await connection.exec_driver_sql("SHOW random_page_cost")).scalar_one())
        finally:
            await engine.dispose()

    # The default: the planner prices an index probe below PostgreSQL's spinning-disk 4
    monkeypatch.delenv("CRM_DB_RANDOM_PAGE_COST", raising=False)
    assert await random_page_cost() == "2"
    # An operator can set another
    monkeypatch.setenv("CRM_DB_RANDOM_PAGE_COST", "2.5")
    assert await random_page_cost() == "2.5"
    # and a bad one is named, before any connection is made
    for bad in ("fast", "0", "-1", "nan", "1e9"):
        with pytest.raises(ValueError, match=r"CRM_DB_RANDOM_PAGE_COST must be a number above 0"):
            planner_settings({"CRM_DB_RANDOM_PAGE_COST": bad})


def test_only_the_database_driver_failing_counts_as_the_database_away() -> None:
    async def erp_call_times_out() -> None:
        await asyncio.wait_for(asyncio.sleep(1), timeout=0.001)

    # An ERP (or any other) call timing out or refused is not the database: it stays an unexpected error
    with pytest.raises(TimeoutError) as timed_out:
        asyncio.run(erp_call_times_out())
    assert database_trouble(timed_out.value) is None
    assert database_trouble(ConnectionRefusedError(111, "Connection refused")) is None
    assert database_trouble(httpx.ConnectError("refused")) is None

    # While the driver failing to connect is, however deep it is wrapped
    async def connect_to_nothing() -> None:
        await connect_raw("postgresql://postgres@/crm?host=/nonexistent-socket-dir")

    with pytest.raises(OSError) as refused:
        asyncio.run(connect_to_nothing())
    assert database_trouble(refused.value) is DatabaseTrouble.UNREACHABLE
    try:
        try:
            raise refused.value
        except OSError as exc:
            raise RuntimeError("while loading the actor") from exc
    except RuntimeError as wrapped:
        assert database_trouble(ExceptionGroup("request", [wrapped])) is DatabaseTrouble.UNREACHABLE
