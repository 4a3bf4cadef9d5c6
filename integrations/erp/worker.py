"""`crm worker`: ERP deliveries, the scheduled jobs (inbound polls, renewals, catalogue) and mail.

Several workers may run. Each sweeps the outbox every few seconds for due messages that no delivery
holds, so no message depends on a queue job existing (a job lost, picked late or run early changes
nothing); the PgQueuer job enqueued with each new message only wakes a worker at once. A delivery
holds no database connection while it waits on the ERP (see sync.py). At most `concurrency`
deliveries run at once in a worker, and at most `per_tenant` of one tenant, so one tenant's hung
ERP cannot take every slot; the worker's own pool is larger than its deliveries. A lost connection
(the database restarted) is made again. An inbound poll holds its tenant with a lease, as a delivery
holds its message.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
import orjson
from pgqueuer.domain.types import QueueExecutionMode
from pgqueuer.models import Job
from pgqueuer.qm import QueueManager
from pgqueuer.queries import Queries
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.erp import outbox as erp_sync
from domain.erp.outbox import DELIVER_ENTRYPOINT, MessageStatus
from infrastructure.db import connect_raw, create_engine, session_factory
from integrations.erp.sync import (
    PortFactory,
    RetryPolicy,
    adapter_for,
    deliver,
    poll,
    products_due,
    sync_products,
    tenants_with_erp,
)
from integrations.mail.smtp import MailSender, run_mail_loop

log = logging.getLogger("crm.worker")


def _count(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {raw!r}.")
    return int(raw)


def _every(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        value = float(raw) if raw is not None else default
    except ValueError:
        value = -1
    if not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {raw!r}.")
    return value


@dataclass(frozen=True)
class WorkerSettings:
    """How many deliveries a worker runs at once (in all, and for one tenant) and how often it sweeps the outbox."""

    concurrency: int = field(default_factory=lambda: _count("CRM_ERP_CONCURRENCY", 8))
    per_tenant: int = field(default_factory=lambda: _count("CRM_ERP_TENANT_CONCURRENCY", 4))
    sweep_seconds: float = field(default_factory=lambda: _every("CRM_ERP_SWEEP_SECONDS", 2))


class Deliveries:
    """The deliveries of one worker: bounded in all and per tenant, each message at most once at a time here."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        ports: PortFactory = adapter_for,
        policy: RetryPolicy | None = None,
        settings: WorkerSettings | None = None,
    ) -> None:
        self.sessions = sessions
        self.ports = ports
        self.policy = policy or RetryPolicy()
        self.settings = settings or WorkerSettings()
        self._slots = asyncio.Semaphore(self.settings.concurrency)
        self._tenant_slots: defaultdict[uuid.UUID, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.settings.per_tenant)
        )
        self._running: set[uuid.UUID] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def deliver(self, tenant_id: uuid.UUID, message_id: uuid.UUID) -> MessageStatus | None:
        """One attempt, when a slot is free (the tenant's first, so a tenant waiting on its ERP keeps no one else's)."""
        if message_id in self._running:
            return None
        self._running.add(message_id)
        try:
            async with self._tenant_slots[tenant_id], self._slots:
                return await deliver(self.sessions, tenant_id, message_id, ports=self.ports, policy=self.policy)
        finally:
            self._running.discard(message_id)

    async def _deliver_logged(self, tenant_id: uuid.UUID, message_id: uuid.UUID) -> None:
        try:
            await self.deliver(tenant_id, message_id)
        except Exception:  # the database went away mid-attempt: the message stays pending, the next sweep has it
            log.warning("delivery of outbox message %s failed; the next sweep tries again", message_id, exc_info=True)

    async def sweep(self) -> int:
        """Start an attempt for each due message no delivery holds, as many as this worker has room for; how many."""
        room = 2 * self.settings.concurrency - len(self._tasks)
        if room <= 0:
            return 0
        async with self.sessions() as session:
            due = await erp_sync.due_messages(session, per_tenant=self.settings.per_tenant, limit=room)
        started = 0
        for tenant_id, message_id in due:
            if message_id in self._running:
                continue
            task = asyncio.create_task(self._deliver_logged(tenant_id, message_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started

    async def close(self) -> None:
        """Wait for the attempts under way (each is bounded by the ERP call timeout and its lease)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def queue_manager(
    connection: asyncpg.Connection,
    sessions: async_sessionmaker[AsyncSession],
    *,
    ports: PortFactory = adapter_for,
    policy: RetryPolicy | None = None,
    deliveries: Deliveries | None = None,
) -> QueueManager:
    """A PgQueuer manager whose jobs wake a delivery of their message at once."""
    manager = QueueManager(Queries.from_asyncpg_connection(connection))
    runner = deliveries or Deliveries(sessions, ports=ports, policy=policy)

    @manager.entrypoint(DELIVER_ENTRYPOINT)
    async def deliver_job(job: Job) -> None:
        payload = orjson.loads(job.payload or b"{}")
        await runner.deliver(uuid.UUID(payload["tenant_id"]), uuid.UUID(payload["message_id"]))

    return manager


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


async def _listen(database_url: str, deliveries: Deliveries, stop: asyncio.Event) -> None:
    """Run the PgQueuer manager until `stop`; when its connection is lost (the database restarted), connect again."""
    backoff = 0.5
    while not stop.is_set():
        try:
            connection = await connect_raw(database_url)  # PgQueuer LISTENs on a plain asyncpg connection
        except Exception as exc:
            log.warning("the job queue cannot connect (%s); trying again in %.1f s", exc, backoff)
            await _pause(stop, backoff)
            backoff = min(backoff * 2, 30)
            continue
        manager = queue_manager(connection, deliveries.sessions, deliveries=deliveries)
        relay = asyncio.create_task(_relay_stop(stop, manager))
        try:
            await manager.run()
            backoff = 0.5
        except Exception as exc:
            log.warning("the job queue lost its connection (%s); connecting again", exc)
        finally:
            relay.cancel()
            try:
                await connection.close(timeout=2)
            except Exception:  # already gone with the server
                connection.terminate()
        await _pause(stop, backoff)
        backoff = min(backoff * 2, 30)


async def _relay_stop(stop: asyncio.Event, manager: QueueManager) -> None:
    await stop.wait()
    manager.shutdown.set()


async def _sweep(deliveries: Deliveries, every: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await deliveries.sweep()
        except Exception as exc:
            log.warning("the outbox sweep failed (%s); trying again in %.1f s", exc, every)
        await _pause(stop, every)


async def deliver_forever(
    database_url: str,
    *,
    ports: PortFactory = adapter_for,
    policy: RetryPolicy | None = None,
    settings: WorkerSettings | None = None,
    stop: asyncio.Event,
) -> None:
    """Deliver outbox messages until `stop` is set: queue jobs at once, and every due message at each sweep.

    Deliveries use a pool of their own, larger than the deliveries that run at once, so they never wait
    on a connection that the scheduled jobs or the mail hold.
    """
    settings = settings or WorkerSettings()
    engine = create_engine(database_url, pool_size=settings.concurrency)
    deliveries = Deliveries(session_factory(engine), ports=ports, policy=policy, settings=settings)
    try:
        await asyncio.gather(_listen(database_url, deliveries, stop), _sweep(deliveries, settings.sweep_seconds, stop))
    finally:
        await deliveries.close()
        await engine.dispose()


async def drain(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    *,
    ports: PortFactory = adapter_for,
    policy: RetryPolicy | None = None,
    tries: int = 5,
    patience: timedelta = timedelta(seconds=30),
) -> None:
    """Deliver every pending message, waiting out its retries and other workers' leases, then return.

    A message is tried at most `tries` times here and the waiting ends `patience` after the start, so a
    message that keeps failing is left pending (with its retry budget) to the running workers rather than
    hold the drain. The queue's wake-up jobs are consumed first.
    """
    deliveries = Deliveries(sessions, ports=ports, policy=policy)
    connection = await connect_raw(database_url)
    try:
        manager = queue_manager(connection, sessions, deliveries=deliveries)
        await manager.run(mode=QueueExecutionMode.drain, dequeue_timeout=timedelta(seconds=1))
    finally:
        await connection.close()
    deadline = time.monotonic() + patience.total_seconds()
    tried: Counter[uuid.UUID] = Counter()
    while True:
        async with sessions() as session:
            schedule = await erp_sync.pending_schedule(session)
            now = await erp_sync.database_now(session)
        waiting = [(t, m, at) for t, m, at in schedule if tried[m] < tries]
        due = [(t, m) for t, m, at in waiting if at <= now]
        if due:
            results = await asyncio.gather(*(deliveries.deliver(t, m) for t, m in due))
            tried.update(m for (_, m), result in zip(due, results, strict=True) if result is not None)
            if any(result is not None for result in results):
                continue
        if not waiting or time.monotonic() >= deadline:
            return
        soonest = (min(at for _, _, at in waiting) - now).total_seconds()  # a retry, or another worker's lease
        await asyncio.sleep(min(max(soonest, 0.02), 0.25, max(deadline - time.monotonic(), 0)))


PRODUCT_SYNC_EVERY = timedelta(minutes=float(os.environ.get("CRM_PRODUCT_SYNC_MINUTES", "60")))


async def sync_tenant(
    sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, *, ports: PortFactory = adapter_for
) -> int:
    """One tenant's inbound round: the ERP's changes, then its catalogue when the last pull is stale."""
    applied = (await poll(sessions, tenant_id, ports=ports)).applied
    if await products_due(sessions, tenant_id, PRODUCT_SYNC_EVERY):
        await sync_products(sessions, tenant_id, ports=ports)
    return applied


async def poll_all(sessions: async_sessionmaker[AsyncSession], *, ports: PortFactory = adapter_for) -> int:
    """Every connected tenant: apply the ERP's changes, and pull its catalogue when the last pull is stale."""
    applied = 0
    for tenant_id in await tenants_with_erp(sessions):
        try:
            applied += await sync_tenant(sessions, tenant_id, ports=ports)
        except Exception:  # one tenant's failure must not stop the others
            log.exception("inbound sync failed for tenant %s", tenant_id)
    return applied


async def run(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    scheduled: Callable[[], Awaitable[None]],
    *,
    interval: float,
    once: bool,
    mail: MailSender | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Deliver outbox messages and run `scheduled` every `interval` seconds, until `stop` (once and exit with `once`).

    With a `mail` sender, due mail goes to its SMTP server every few seconds (once with `once`).
    """
    if once:
        await drain(database_url, sessions)
        await scheduled()
        if mail is not None:
            await mail.deliver_due(sessions)
        return
    stop = stop or asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            try:
                await scheduled()
            except Exception:
                log.exception("scheduled jobs failed; trying again next round")
            await _pause(stop, interval)

    loops = [deliver_forever(database_url, stop=stop), loop()]
    if mail is not None:
        loops.append(run_mail_loop(sessions, mail, stop))
    await asyncio.gather(*loops)
