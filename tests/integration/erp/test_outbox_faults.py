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
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from api.app import create_app
from api.cli import main
from api.settings import Settings
from domain.commerce.contracts import Contract
from domain.commerce.orders import Order
from domain.erp.outbox import ErpAdapterKind, MessageStatus, OutboxMessage
from infrastructure import migrations
from infrastructure.db import create_engine, session_factory
from integrations.erp import sync as erp_sync_module
from integrations.erp import worker
from integrations.erp.sync import RetryPolicy, deliver
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
        import pgserver

        self.server = pgserver.get_server(root / "pg", cleanup_mode=None)
        self.url = create_database(self.server.get_uri(), "crm_faults")

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import POSTGRES_BIN_PATH

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
    """`crm worker` in a process of its own, with the fault test's short ERP timeouts."""

    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log = url, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = os.environ | WORKER_ENV | {"DATABASE_URL": self.url}
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
        rows = await session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.tenant_id == shop.world.tenant_id)
            .group_by(OutboxMessage.status)
        )
        return dict(rows.all())  # type: ignore[arg-type]


async def _crm_numbers(shop: Shop) -> set[str]:
    async with shop.sessions() as session:
        orders = await session.execute(select(Order.number).where(Order.tenant_id == shop.world.tenant_id))
        contracts = await session.execute(select(Contract.number).where(Contract.tenant_id == shop.world.tenant_id))
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
        message = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.tenant_id == shop.world.tenant_id))
        ).scalar_one()
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
                select(OutboxMessage.next_attempt_at <= func.now()).where(OutboxMessage.id == message.id)
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
                    select(OutboxMessage.record_id)
                    .where(OutboxMessage.tenant_id == shop.world.tenant_id, OutboxMessage.claimed_until > func.now())
                    .limit(1)
                )
            ).scalar_one()
        d2 = await shop.as_("d2_admin")
        cancel = 'mutation($id: ID!) { cancelOrder(id: $id, reason: "mistake") { order { status } errors { code message } } }'
        refused = await d2.data(cancel, id=gid("Order", in_flight))
        assert refused["cancelOrder"]["errors"][0]["code"] == "CONFLICT", refused
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
