"""The ERP outbox never strands a message: faults driven for real around real workers.

The ERP is the signed-webhook ERP in a process of its own (http_erp.py): killed with SIGKILL, frozen
with SIGSTOP (it accepts connections and answers nothing) and restarted. The workers are `crm worker`
processes, killed with SIGKILL too; the database is a PostgreSQL server of the test's own, restarted
in immediate mode (a crash, for the workers) and frozen. Orders and contracts are made through the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pgserver
import psutil
import pytest
from click.testing import CliRunner
from pgserver._commands import POSTGRES_BIN_PATH
from sqlalchemy import func, text

from api.app import create_app
from api.cli import main
from api.settings import Settings
from domain.access.unit_of_work import UnitOfWork, system_unit_of_work
from domain.audit.trail import AuditEvent
from domain.commerce.contracts import Contract
from domain.commerce.orders import Order
from domain.erp import outbox as erp_outbox
from domain.erp.outbox import ErpAdapterKind, ErpConnection, MessageStatus, OutboxMessage
from infrastructure import migrations
from infrastructure.db import create_engine, session_factory
from integrations.erp import sync as erp_sync_module
from integrations.erp import worker
from integrations.erp.sync import PollResult, RetryPolicy, deliver, poll, sync_products
from tests.conftest import create_database
from tests.integration.commerce.test_commerce import PLACE
from tests.integration.commerce_setup import connect_erp, line, quote_to_order, stock_catalogue, win
from tests.integration.graphql_client import Caller, caller_for, gid
from tests.integration.http_erp import ErpProcess
from tests.integration.world import World, build_world

SECRET = "fault-test-secret"
CALL_TIMEOUT = 1.5  # seconds the workers give the ERP per attempt
LEASE = 4.0  # seconds an attempt holds its message (a killed worker's messages are free again after this)
WORKER_ENV = {
    "CRM_ERP_CALL_TIMEOUT_SECONDS": str(CALL_TIMEOUT),
    "CRM_ERP_LEASE_SECONDS": str(LEASE),
    "CRM_ERP_SWEEP_SECONDS": "0.5",
    "CRM_ERP_CREDIT_CHECK_SECONDS": "0.5",
    # The backoff stays the product's (2 s doubling to 10 min): a healthy poll brings the backlog forward.
}


class FaultDatabase:
    """A PostgreSQL server of the test's own, so it can be restarted and frozen without touching the suite's."""

    def __init__(self, root: Path) -> None:
        self.server = pgserver.get_server(root / "pg", cleanup_mode=None)
        self.url = create_database(self.server.get_uri(), "crm_faults")

    def _pg_ctl(self, *args: str) -> None:
        command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.server.pgdata), "-w", *args]
        # Into a file, not a pipe: the server pg_ctl starts inherits it and would hold a pipe open.
        with tempfile.TemporaryFile("w+") as out:
            done = subprocess.run(command, user=self.server.system_user, stdout=out, stderr=out, timeout=30)
            if done.returncode:
                out.seek(0)
                raise RuntimeError(f"pg_ctl {' '.join(args)} failed: {out.read()}")

    def restart(self) -> None:
        """Stop at once (as a crash would: no checkpoint, every session cut) and start again."""
        self._pg_ctl("-m", "immediate", "restart")

    def _processes(self) -> list[psutil.Process]:
        postmaster = psutil.Process(int((self.server.pgdata / "postmaster.pid").read_text().split()[0]))
        return [postmaster, *postmaster.children(recursive=True)]

    def _signal_all(self, sig: signal.Signals) -> None:
        for process in self._processes():
            with contextlib.suppress(psutil.NoSuchProcess):  # a backend may end between listing and signalling
                process.send_signal(sig)

    def freeze(self) -> None:
        self._signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_all(signal.SIGCONT)

    def stop(self) -> None:
        self.thaw()
        try:
            self._pg_ctl("-m", "immediate", "stop")
        except RuntimeError:  # not running (a failed restart): end what is left of it
            for process in self._processes() if (self.server.pgdata / "postmaster.pid").exists() else []:
                process.kill()


class WorkerProcess:
    """`crm worker` in a process of its own, with the fault test's short ERP timeouts (or the settings given)."""

    def __init__(self, url: str, log: Path, settings: dict[str, str] | None = None) -> None:
        self.url, self.log, self.settings = url, log, settings or WORKER_ENV
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = os.environ | self.settings | {"DATABASE_URL": self.url}
        command = [str(Path(sys.executable).parent / "crm"), "worker", "--interval", "1"]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@dataclass
class Shop:
    """The fault test's own database, API, tenant and ERP."""

    database: FaultDatabase
    sessions: Any
    client: httpx.AsyncClient
    world: World
    products: dict[str, uuid.UUID]
    erp: ErpProcess

    async def as_(self, key: str) -> Caller:
        return await caller_for(self.client, self.sessions, self.world.tenant_id, self.world.users[key].id)

    def as_the_worker(self, session: Any) -> UnitOfWork:
        """The test reads what the workers wrote as they do: through a system unit of work over the tenant."""
        return system_unit_of_work(session, self.world.tenant_id, "erp fault test")


@pytest.fixture(scope="module")
def fault_database() -> Iterator[FaultDatabase]:
    """The module's own server, migrated; each test makes its own tenant on it."""
    # Not under pytest's tmp_path: pytest (any session, run by anyone) resets its base folder to 0700, and the
    # server runs as another user when the tests run as root.
    with tempfile.TemporaryDirectory(prefix="crm-faults-") as root:
        database = FaultDatabase(Path(root))
        try:
            migrations.upgrade(database.url)
            yield database
        finally:
            database.stop()


@pytest.fixture
def workers(fault_database: FaultDatabase, tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    """Two `crm worker` processes (started first, so they boot while the test's tenant is made)."""
    started = [WorkerProcess(fault_database.url, tmp_path / f"worker-{n}.log") for n in (1, 2)]
    for w in started:
        w.start()
    try:
        yield started
    finally:
        for w in started:
            w.kill()


@pytest.fixture
async def shop(fault_database: FaultDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Shop]:
    # The API's credit check (a partner placing an order) gives a frozen ERP half a second, as the workers' do.
    monkeypatch.setattr(erp_sync_module, "CREDIT_CHECK_SECONDS", 0.5)
    engine = create_engine(fault_database.url, pool_size=4)
    sessions = session_factory(engine)
    erp = ErpProcess(SECRET, tmp_path / "erp-state.json")
    erp.start()
    app = create_app(Settings(database_url=None, data_dir=tmp_path / "data", production=False), fault_database.url)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
        ):
            world = await build_world(sessions)
            products = await stock_catalogue(sessions, world.tenant_id)
            await connect_erp(sessions, world.tenant_id, ErpAdapterKind.WEBHOOK, {"url": erp.url}, SECRET)
            yield Shop(fault_database, sessions, client, world, products, erp)
    finally:
        erp.stop()
        await engine.dispose()


async def _place_orders(shop: Shop, count: int) -> list[str]:
    """`count` partner orders placed at once (each asks the ERP for credit first); their numbers."""
    d2 = await shop.as_("d2_admin")

    async def one() -> str:
        body = await d2.data(PLACE, i={"lines": [line(shop.products, "SVC-200", "1")]})  # 140.00: within its credit
        assert not body["placePartnerOrder"]["errors"], body
        return body["placePartnerOrder"]["order"]["number"]  # type: ignore[no-any-return]

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def _make_contract(shop: Shop, opportunity: str) -> list[str]:
    """A won deal's order and its approved contract; their numbers."""
    am, finance = await shop.as_("am_east"), await shop.as_("finance")
    deal = shop.world.opportunities[opportunity]
    await win(shop.sessions, shop.world.tenant_id, deal.id)
    order = await quote_to_order(am, gid("Opportunity", deal.id), [line(shop.products, "SVC-200", "1")])
    created = await am.data(
        "mutation($i: CreateContractInput!) { createContract(input: $i) { contract { id number } errors { message } } }",
        i={"opportunityId": gid("Opportunity", deal.id), "startDate": date.today().isoformat(), "termMonths": 12},
    )
    contract = created["createContract"]["contract"]
    await am.data("mutation($id: ID!) { submitContract(id: $id) { contract { status } } }", id=contract["id"])
    approved = await finance.data(
        "mutation($id: ID!) { approveContract(id: $id) { contract { status } errors { message } } }", id=contract["id"]
    )
    assert approved["approveContract"]["contract"]["status"] == "ACTIVE", approved
    return [order["number"], contract["number"]]


async def _outbox(shop: Shop) -> dict[MessageStatus, int]:
    async with shop.sessions() as session:
        door = shop.as_the_worker(session)
        rows = await session.execute(
            door.visible_columns(OutboxMessage, OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return dict(rows.all())  # type: ignore[arg-type]


async def _crm_numbers(shop: Shop) -> set[str]:
    async with shop.sessions() as session:
        door = shop.as_the_worker(session)
        orders = await session.execute(door.visible_columns(Order, Order.number))
        contracts = await session.execute(door.visible_columns(Contract, Contract.number))
        return set(orders.scalars()) | set(contracts.scalars())


async def _wait_until_delivered(shop: Shop, within: float) -> float:
    """Seconds until no message is pending (none may be dead); fails after `within`."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        try:
            counts = await _outbox(shop)
        except Exception:  # the test's own pool reconnecting after the restart
            counts = {MessageStatus.PENDING: -1}
        if not counts.get(MessageStatus.PENDING):
            assert not counts.get(MessageStatus.DEAD), counts
            return time.monotonic() - start
        await asyncio.sleep(0.2)
    raise AssertionError(f"still pending after {within} s: {await _outbox(shop)}")


def _reconcile(url: str, slug: str, *args: str) -> Any:
    env = {"DATABASE_URL": url}
    return CliRunner().invoke(main, ["erp", "reconcile", "--tenant", slug, *args], env=env)


async def test_every_order_and_contract_reaches_the_erp_once_through_erp_worker_and_database_faults(
    workers: list[WorkerProcess], shop: Shop
) -> None:
    # Given two `crm worker` processes and a healthy ERP
    placed = await _place_orders(shop, 3)
    await _wait_until_delivered(shop, within=30)

    # When the ERP freezes (accepts connections, answers nothing) while orders and a contract come in
    shop.erp.freeze()
    frozen = await _place_orders(shop, 4) + await _make_contract(shop, "O1")
    placed += frozen
    await asyncio.sleep(CALL_TIMEOUT + 1)  # attempts are under way, hung on the ERP, then time out
    # ... and a worker is killed mid-delivery and started again
    workers[0].kill()
    workers[0].start()
    # ... and the queue's jobs are lost (no message may depend on one)
    async with shop.sessions() as session, session.begin():
        await session.execute(text("DELETE FROM pgqueuer"))
    # ... and the ERP wakes and answers the requests it had taken in, late, then is killed
    shop.erp.thaw()
    await asyncio.sleep(0.5)
    shop.erp.kill()
    placed += await _place_orders(shop, 3)
    placed += await _make_contract(shop, "O3")
    # ... and the database crashes and restarts, then freezes for a while, while the ERP is still down
    await asyncio.to_thread(shop.database.restart)
    shop.database.freeze()
    await asyncio.sleep(1.5)
    shop.database.thaw()
    placed += await _place_orders(shop, 3)
    backlog = await _outbox(shop)
    # ... and the ERP comes back
    shop.erp.start()
    healthy_for = await _wait_until_delivered(shop, within=60)

    # Then every order and contract is in the ERP exactly once, within a minute of the ERP being healthy
    held = shop.erp.held()
    numbers = await _crm_numbers(shop)
    assert set(placed) <= numbers and set(held["records"]) == numbers
    assert held["creates"] == len(numbers)  # made once each (the ERP's lookup by reference absorbed any repeat)
    double_pushes = sum(n - 1 for n in held["pushes"].values())
    print(
        f"\nfault run: {len(numbers)} orders and contracts, {backlog.get(MessageStatus.PENDING, 0)} pending when the "
        f"ERP came back, all delivered {healthy_for:.1f} s after; {sum(held['pushes'].values())} pushes, "
        f"{double_pushes} of them repeats"
    )
    assert healthy_for < 60
    repeated = {reference for reference, pushes in held["pushes"].items() if pushes > 1}
    assert repeated <= set(frozen), held["pushes"]  # only what the frozen ERP took in and answered after the timeout
    # ... and reconcile agrees: nothing pending, nothing missing, exit 0
    report = await asyncio.to_thread(
        _reconcile, shop.database.url, shop.world.slug, "--pending-grace-minutes", "0", "--json"
    )
    assert report.exit_code == 0, report.output
    assert json.loads(report.output[report.output.index("{") :])["drift"] == []


async def test_reconcile_reports_a_pending_order_the_erp_lacks_once_it_has_waited_past_the_grace(shop: Shop) -> None:
    # Given an order whose delivery failed while the ERP was down, waiting out its backoff (no worker runs)
    [number] = await _place_orders(shop, 1)
    shop.erp.kill()
    async with shop.sessions() as session:
        message = (await session.execute(shop.as_the_worker(session).visible(OutboxMessage))).scalar_one()
    policy = RetryPolicy(base_seconds=600, cap_seconds=600)  # its next try is minutes away, most likely
    assert await deliver(shop.sessions, shop.world.tenant_id, message.id, policy=policy) is MessageStatus.PENDING
    shop.erp.start()
    url, slug = shop.database.url, shop.world.slug
    # When reconcile runs with the default grace (10 minutes), the order is on its way: no drift
    on_its_way = await asyncio.to_thread(_reconcile, url, slug)
    assert on_its_way.exit_code == 0, on_its_way.output
    # When it runs with no grace, the pending order the ERP lacks is drift: exit 3, saying how long and why
    late = await asyncio.to_thread(_reconcile, url, slug, "--pending-grace-minutes", "0")
    assert late.exit_code == 3, late.output
    assert "missing_in_erp" in late.output and number in late.output
    assert "pending for 0 min after 1 attempt(s); last error: The ERP could not be reached" in late.output
    # When it repairs, the message is due now rather than minutes later, and the next delivery sends it
    repaired = await asyncio.to_thread(_reconcile, url, slug, "--pending-grace-minutes", "0", "--repair")
    assert repaired.exit_code == 0 and "(repaired)" in repaired.output, repaired.output
    async with shop.sessions() as session:
        due = (
            await session.execute(
                shop.as_the_worker(session)
                .visible_columns(OutboxMessage, OutboxMessage.next_attempt_at <= func.now())
                .where(OutboxMessage.id == message.id)
            )
        ).scalar_one()
    assert due
    assert await deliver(shop.sessions, shop.world.tenant_id, message.id) is MessageStatus.DELIVERED
    assert set(shop.erp.held()["records"]) == {number}
    clean = await asyncio.to_thread(_reconcile, url, slug, "--pending-grace-minutes", "0")
    assert clean.exit_code == 0, clean.output


async def test_a_hung_erp_holds_no_database_connection_and_starves_no_other_delivery(
    shop: Shop, tmp_path: Path
) -> None:
    """Two tenants on one worker: one tenant's ERP hangs; the other's orders still go through at once."""
    # Given a second tenant with an ERP of its own, and one worker (four deliveries at once, two per tenant)
    other_erp = ErpProcess(SECRET, tmp_path / "other-erp-state.json")
    other_erp.start()
    try:
        await _hung_erp_starves_nothing(shop, other_erp)
    finally:
        other_erp.stop()


async def _hung_erp_starves_nothing(shop: Shop, other_erp: ErpProcess) -> None:
    other_world = await build_world(shop.sessions)
    other_products = await stock_catalogue(shop.sessions, other_world.tenant_id)
    await connect_erp(shop.sessions, other_world.tenant_id, ErpAdapterKind.WEBHOOK, {"url": other_erp.url}, SECRET)
    other = Shop(shop.database, shop.sessions, shop.client, other_world, other_products, other_erp)
    settings = worker.WorkerSettings(concurrency=4, per_tenant=2, sweep_seconds=0.3)
    policy = RetryPolicy(call_timeout_seconds=20, lease_seconds=30)  # hangs outlast the test
    stop = asyncio.Event()
    running = asyncio.create_task(
        worker.deliver_forever(shop.database.url, policy=policy, settings=settings, stop=stop)
    )
    try:
        # When the first tenant's ERP hangs with six orders on their way
        shop.erp.freeze()
        placing = time.monotonic()
        hung = await _place_orders(shop, 6)
        assert time.monotonic() - placing < 3  # the partner waited half a second for its credit, not the ERP's hang
        await asyncio.sleep(1)
        # Then the worker holds no transaction open (nor a pooled connection) while it waits on that ERP
        async with shop.sessions() as session:
            idle = (
                await session.execute(
                    text(  # between two statements of a short transaction, a session is idle in it for a moment
                        "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
                        "AND now() - state_change > interval '500 milliseconds'"
                    )
                )
            ).scalar_one()
        assert idle == 0
        # ... and an order it is delivering cannot be cancelled meanwhile (the ERP may be creating it), changing nothing
        async with shop.sessions() as session:
            in_flight = (
                await session.execute(
                    shop.as_the_worker(session)
                    .visible_columns(OutboxMessage, OutboxMessage.record_id)
                    .where(OutboxMessage.claimed_until > func.now())
                    .limit(1)
                )
            ).scalar_one()
        d2 = await shop.as_("d2_admin")
        cancel = 'mutation($id: ID!) { cancelOrder(id: $id, reason: "mistake") { order { status } errors { code message } } }'
        refused = await d2.data(cancel, id=gid("Order", in_flight))
        assert refused["cancelOrder"]["errors"][0]["code"] == "ORDER_BEING_SENT", refused
        seen = await d2.data(
            "query($id: ID!) { node(id: $id) { ... on Order { status } } }", id=gid("Order", in_flight)
        )
        assert seen["node"]["status"] == "SUBMITTED"
        # ... and the other tenant's orders are delivered at once all the same
        started = time.monotonic()
        delivered = await _place_orders(other, 3)
        await _wait_until_delivered(other, within=10)
        took = time.monotonic() - started
        print(f"\nhung ERP: the other tenant's 3 orders placed and delivered in {took:.1f} s; {idle} idle transactions")
        assert took < 5
        assert set(other_erp.held()["records"]) == set(delivered)
        assert (await _outbox(shop)).get(MessageStatus.PENDING) == len(hung)
    finally:
        shop.erp.thaw()
        stop.set()
        await running


async def _until(condition: Callable[[], Awaitable[bool]], within: float, what: str) -> float:
    """Seconds until `condition` holds, asked every 50 ms; fails after `within`."""
    start = time.monotonic()
    while not await condition():
        if time.monotonic() - start > within:
            raise AssertionError(f"{what}: not within {within} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def _connection(shop: Shop) -> ErpConnection:
    async with shop.sessions() as session:
        connection = await erp_outbox.connection_of(session, shop.world.tenant_id)
    assert connection is not None
    return connection


async def _poll_claimed(shop: Shop) -> bool:
    return (await _connection(shop)).poll_claimed_by is not None


async def _idle_in_transaction(shop: Shop) -> int:
    """Sessions of the test's database idle in a transaction for more than a moment (none should be)."""
    async with shop.sessions() as session:
        return int(
            (
                await session.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND state = 'idle in transaction' AND now() - state_change > interval '500 milliseconds'"
                    )
                )
            ).scalar_one()
        )


async def _orders_by_number(shop: Shop) -> dict[str, tuple[uuid.UUID, str | None]]:
    """(id, shipment state) of the tenant's orders, by number."""
    async with shop.sessions() as session:
        door = shop.as_the_worker(session)
        rows = await session.execute(door.visible_columns(Order, Order.number, Order.id, Order.shipment_state))
        return {number: (order_id, shipment) for number, order_id, shipment in rows.all()}


async def _erp_status_events(shop: Shop) -> dict[uuid.UUID, int]:
    """How many ERP statuses changed each record (one audit event per applied change)."""
    async with shop.sessions() as session:
        door = shop.as_the_worker(session)
        rows = await session.execute(
            door.visible_columns(AuditEvent, AuditEvent.record_id, func.count())
            .where(AuditEvent.action == "erp_status")
            .group_by(AuditEvent.record_id)
        )
        return dict(rows.all())  # type: ignore[arg-type]


async def test_a_poll_holds_no_transaction_while_the_erp_hangs_and_one_worker_polls_a_tenant_at_a_time(
    shop: Shop,
) -> None:
    # Given an order in the ERP, shipped there since the last poll
    [number] = await _place_orders(shop, 1)
    await worker.drain(shop.database.url, shop.sessions)
    shop.erp.ship(number)
    reads_before = shop.erp.held()["changes_read"]
    # ... and two workers, each with a pool of its own
    engines = [create_engine(shop.database.url, pool_size=2) for _ in range(2)]
    pools = [session_factory(engine) for engine in engines]
    policy = RetryPolicy(call_timeout_seconds=20, lease_seconds=30)  # the hang outlasts what the test looks at
    tenant = shop.world.tenant_id
    try:
        # When the ERP hangs while the first worker polls the tenant and pulls its catalogue
        shop.erp.freeze()
        polling = asyncio.create_task(poll(pools[0], tenant, policy=policy))
        pulling = asyncio.create_task(sync_products(pools[0], tenant, policy=policy))
        await _until(lambda: _poll_claimed(shop), within=5, what="the first worker claims the poll")
        await asyncio.sleep(1)
        # Then it holds no transaction open, nor a connection of its pool, while it waits on the ERP
        idle, checked_out = await _idle_in_transaction(shop), engines[0].pool.checkedout()
        assert (idle, checked_out) == (0, 0)
        # ... and the second worker skips the round at once rather than read the ERP as well
        started = time.monotonic()
        second = await poll(pools[1], tenant, policy=policy)
        skipped_in = time.monotonic() - started
        assert second.skipped and skipped_in < 1
        # When the ERP wakes
        shop.erp.thaw()
        first = await polling
        await pulling
        # Then the first poll applies the shipment, the ERP was read once for both, and the lease is let go
        assert first.applied == 1 and not first.discarded and not first.skipped
        assert shop.erp.held()["changes_read"] - reads_before == 1
        connection = await _connection(shop)
        assert connection.poll_claimed_by is None and connection.poll_claimed_until is None
        assert (await _orders_by_number(shop))[number][1] == "sent"
        print(
            f"\nhung ERP poll: {idle} idle transactions and {checked_out} pooled connections held while it waited; "
            f"the second worker skipped in {skipped_in * 1000:.0f} ms; the ERP was read once"
        )
    finally:
        shop.erp.thaw()
        for engine in engines:
            await engine.dispose()


async def test_a_worker_killed_mid_poll_lets_the_tenant_go_when_its_lease_passes(
    shop: Shop, fault_database: FaultDatabase, tmp_path: Path
) -> None:
    # Given an order shipped in the ERP since the last poll, and an ERP that hangs
    [number] = await _place_orders(shop, 1)
    await worker.drain(shop.database.url, shop.sessions)
    shop.erp.ship(number)
    shop.erp.freeze()
    # When a `crm worker` claims the tenant's poll and is killed (SIGKILL) while it waits on the ERP
    lease = 6.0
    settings = WORKER_ENV | {"CRM_ERP_CALL_TIMEOUT_SECONDS": "4", "CRM_ERP_LEASE_SECONDS": str(lease)}
    doomed = WorkerProcess(fault_database.url, tmp_path / "killed-worker.log", settings)
    doomed.start()
    try:
        await _until(lambda: _poll_claimed(shop), within=60, what="the worker claims the poll")
    finally:
        doomed.kill()
    killed_at = time.monotonic()
    held_by_the_dead = (await _connection(shop)).poll_claimed_by
    shop.erp.thaw()
    # Then no other worker polls the tenant while the dead worker's lease lasts...
    policy = RetryPolicy(call_timeout_seconds=5)
    assert (await poll(shop.sessions, shop.world.tenant_id, policy=policy)).skipped
    # ... and once it has passed, the next poll takes the tenant over and applies the shipment
    skipped = 0
    while (result := await poll(shop.sessions, shop.world.tenant_id, policy=policy)).skipped:
        skipped += 1
        assert time.monotonic() - killed_at < lease + 5, "the dead worker's lease was never let go"
        await asyncio.sleep(0.2)
    taken_over_after = time.monotonic() - killed_at
    assert held_by_the_dead is not None and result.applied == 1
    assert lease - 2 <= taken_over_after <= lease + 1.5
    assert (await _orders_by_number(shop))[number][1] == "sent"
    print(
        f"\nkilled mid-poll: the tenant was taken over {taken_over_after:.1f} s after the kill "
        f"(lease {lease:g} s), {skipped} polls skipped meanwhile"
    )


async def test_the_cursor_never_moves_back_and_each_status_is_applied_once_however_many_workers_poll(
    workers: list[WorkerProcess], shop: Shop
) -> None:
    # Given two `crm worker` processes (each polls every second) and four orders they delivered
    placed = await _place_orders(shop, 4)
    await _wait_until_delivered(shop, within=30)
    tenant = shop.world.tenant_id
    engines = [create_engine(shop.database.url, pool_size=2) for _ in range(2)]
    outcomes: list[PollResult] = []
    cursors: list[str] = []
    stop = asyncio.Event()

    async def polling(sessions: Any) -> None:  # two more workers, polling as fast as they can
        while not stop.is_set():
            outcomes.append(await poll(sessions, tenant))
            await asyncio.sleep(0.02)

    async def watching() -> None:
        while not stop.is_set():
            if cursor := (await _connection(shop)).poll_cursor:
                cursors.append(cursor)
            await asyncio.sleep(0.02)

    async def all_shipped() -> bool:
        return all(shipment == "sent" for _, shipment in (await _orders_by_number(shop)).values())

    tasks = [asyncio.create_task(polling(session_factory(e))) for e in engines] + [asyncio.create_task(watching())]
    try:
        # When the ERP ships the orders one by one while four workers poll the tenant
        for number in placed:
            shop.erp.ship(number)
            await asyncio.sleep(0.5)
        await _until(all_shipped, within=20, what="every shipment reaches the CRM")
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for engine in engines:
            await engine.dispose()
    # Then the cursor only ever moved forward...
    assert cursors and cursors == sorted(cursors)
    # ... and each shipment was applied once (delivery's confirmation, then the shipment: two ERP changes each)
    orders = await _orders_by_number(shop)
    events = await _erp_status_events(shop)
    assert {number: events.get(orders[number][0]) for number in placed} == {number: 2 for number in placed}
    skipped, applied_here = sum(1 for o in outcomes if o.skipped), sum(o.applied for o in outcomes)
    print(
        f"\nfour pollers: {len(outcomes)} in-process polls, {skipped} skipped (another held the lease); of the 4 "
        f"shipments {applied_here} applied in process, {len(placed) - applied_here} by the workers; "
        f"{len(cursors)} cursor samples, never backwards"
    )
