"""`crm worker`: PgQueuer consumes outbox jobs; a loop runs the scheduled jobs (inbound polls, renewals, catalogue).

Several workers may run. PgQueuer hands each job to one worker (SKIP LOCKED dequeue) and re-picks a
job whose worker died (heartbeat timeout); delivery itself locks the outbox message, so even a job
picked twice delivers once. Inbound polls take a per-tenant advisory lock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
import orjson
from pgqueuer.domain.types import QueueExecutionMode
from pgqueuer.models import Job
from pgqueuer.qm import QueueManager
from pgqueuer.queries import Queries
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.db import connect_raw
from domain.erp_sync import DELIVER_ENTRYPOINT
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


def queue_manager(
    connection: asyncpg.Connection,
    sessions: async_sessionmaker[AsyncSession],
    *,
    ports: PortFactory = adapter_for,
    policy: RetryPolicy | None = None,
) -> QueueManager:
    manager = QueueManager(Queries.from_asyncpg_connection(connection))

    @manager.entrypoint(DELIVER_ENTRYPOINT)
    async def deliver_job(job: Job) -> None:
        payload = orjson.loads(job.payload or b"{}")
        await deliver(
            sessions, uuid.UUID(payload["tenant_id"]), uuid.UUID(payload["message_id"]), ports=ports, policy=policy
        )

    return manager


async def drain(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    *,
    ports: PortFactory = adapter_for,
    policy: RetryPolicy | None = None,
) -> None:
    """Deliver every queued message (waiting out scheduled retries), then return."""
    connection = await connect_raw(database_url)  # PgQueuer LISTENs on a plain asyncpg connection
    try:
        manager = queue_manager(connection, sessions, ports=ports, policy=policy)
        await manager.run(mode=QueueExecutionMode.drain, dequeue_timeout=timedelta(seconds=1))
    finally:
        await connection.close()


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
) -> None:
    """Consume outbox jobs and run `scheduled` every `interval` seconds (once and exit with `once`).

    With a `mail` sender, due mail goes to its SMTP server every few seconds (once with `once`).
    """
    if once:
        await drain(database_url, sessions)
        await scheduled()
        if mail is not None:
            await mail.deliver_due(sessions)
        return
    connection = await connect_raw(database_url)  # PgQueuer LISTENs on a plain asyncpg connection
    manager = queue_manager(connection, sessions)

    async def loop() -> None:
        while not manager.shutdown.is_set():
            try:
                await scheduled()
            except Exception:
                log.exception("scheduled jobs failed; trying again next round")
            try:
                await asyncio.wait_for(manager.shutdown.wait(), timeout=interval)
            except TimeoutError:
                pass

    loops = [manager.run(), loop()]
    if mail is not None:
        loops.append(run_mail_loop(sessions, mail, manager.shutdown))
    try:
        await asyncio.gather(*loops)
    finally:
        await connection.close()
