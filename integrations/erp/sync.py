"""The relay between the CRM's outbox and the ERP, and the inbound side that applies what comes back.

Delivery locks its outbox message (FOR UPDATE SKIP LOCKED) for the whole attempt, so two workers
never work the same message at once; the adapter looks the record up by its CRM reference before
creating it, so a message delivered twice (a crash after the ERP call, before our commit) still
leaves one record in the ERP. Transient failures are retried with exponential backoff and full
jitter (tenacity's `wait_random_exponential`) until the message's attempt bound, then it is dead.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import wait_random_exponential

from domain import erp_sync
from domain.accounts import Account
from domain.base import utcnow
from domain.catalog import CatalogEntry, upsert_products
from domain.contracts import Contract, contract_lines
from domain.db import transaction
from domain.erp_status import ReportedStatus, apply_status
from domain.erp_sync import ErpAdapterKind, ErpConnection, MessageKind, MessageStatus, OutboxMessage, SyncState
from domain.erp_sync import ErpParty as ErpPartyLink
from domain.orders import Order, order_lines, party_reference, record_credit
from domain.organizations import Organization
from integrations.erp.port import (
    ErpContract,
    ErpError,
    ErpLine,
    ErpOrder,
    ErpParty,
    ErpPort,
    ErpStatus,
)

log = logging.getLogger("crm.erp")


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for transient failures: random in [0, min(cap, base·2^(n-1))] seconds after attempt n."""

    base_seconds: float = float(os.environ.get("CRM_ERP_RETRY_BASE_SECONDS", "2"))
    cap_seconds: float = float(os.environ.get("CRM_ERP_RETRY_CAP_SECONDS", "600"))

    def delay(self, attempt: int) -> timedelta:
        wait = wait_random_exponential(multiplier=self.base_seconds, max=self.cap_seconds)
        return timedelta(seconds=wait(SimpleNamespace(attempt_number=attempt)))  # type: ignore[arg-type]


def adapter_for(connection: ErpConnection) -> ErpPort:
    """The adapter a tenant's connection names, built from its settings."""
    settings = connection.settings or {}
    if connection.adapter is ErpAdapterKind.TRYTON:
        from integrations.erp.tryton import TrytonErp

        return TrytonErp(settings["url"], settings["database"], settings["login"], settings["password"])
    from integrations.erp.webhook import SignedWebhookErp

    return SignedWebhookErp(settings["url"], connection.webhook_secret or "")


PortFactory = Callable[[ErpConnection], ErpPort]


def reported(status: ErpStatus) -> ReportedStatus:
    return ReportedStatus(
        kind=MessageKind(status.kind.value),
        reference=status.reference,
        erp_id=status.erp_id,
        state=status.state,
        changed_at=status.changed_at,
        total_amount=status.total_amount,
        invoice_state=status.invoice_state,
        shipment_state=status.shipment_state,
        paid_amount=status.paid_amount,
        number=status.number,
    )


async def _party(session: AsyncSession, tenant_id: uuid.UUID, record: Order | Contract) -> ErpParty:
    """The billed party: the buying partner, else the customer account (the CRM id is the reference)."""
    reference = party_reference(record)
    if record.partner_organization_id is not None:
        org = await session.get(Organization, (tenant_id, record.partner_organization_id))
        assert org is not None
        return ErpParty(reference=reference, name=org.name)
    account = await session.get(Account, (tenant_id, record.account_id))
    assert account is not None
    return ErpParty(reference=reference, name=account.name, tax_id=account.tax_id)


async def _ensure_party(session: AsyncSession, port: ErpPort, tenant_id: uuid.UUID, party: ErpParty) -> None:
    """Make sure the ERP holds the party. The first delivery for a customer finds or creates it under a
    per-customer lock (so two first orders cannot both create it) and records its ERP id; later ones skip this."""
    if await session.get(ErpPartyLink, (tenant_id, party.reference)) is not None:
        return
    key = f"erp-party:{tenant_id}:{party.reference}"
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
    if await session.get(ErpPartyLink, (tenant_id, party.reference), populate_existing=True) is not None:
        return
    erp_id = await port.ensure_party(party)
    session.add(ErpPartyLink(tenant_id=tenant_id, reference=party.reference, erp_id=erp_id))
    await session.flush()


async def _push(session: AsyncSession, port: ErpPort, record: Order | Contract) -> ErpStatus:
    tenant_id = record.tenant_id
    party = await _party(session, tenant_id, record)
    await _ensure_party(session, port, tenant_id, party)
    if isinstance(record, Order):
        lines = tuple(
            ErpLine(x.product_code, x.description, x.quantity, x.unit_price)
            for x in await order_lines(session, tenant_id, record.id)
        )
        return await port.push_order(ErpOrder(record.number, party, record.currency, lines, record.created_at.date()))
    clines = tuple(
        ErpLine(x.product_code, x.description, x.quantity, x.monthly_price)
        for x in await contract_lines(session, tenant_id, record.id)
    )
    erp_contract = ErpContract(record.number, party, record.currency, clines, record.start_date, record.end_date)
    return await port.push_contract(erp_contract)


async def _record_of(session: AsyncSession, message: OutboxMessage) -> Order | Contract | None:
    """The message's order or contract, row-locked: two messages of one record reach the ERP one after the other."""
    model = Order if message.kind is MessageKind.ORDER else Contract
    return await session.get(model, (message.tenant_id, message.record_id), with_for_update=True)


async def deliver(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    *,
    ports: PortFactory = adapter_for,
    policy: RetryPolicy | None = None,
) -> MessageStatus | None:
    """One delivery attempt of one message; None when another worker holds it or it is not due."""
    policy = policy or RetryPolicy()
    async with transaction(sessions) as session:
        message = (
            await session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.tenant_id == tenant_id, OutboxMessage.id == message_id)
                .with_for_update(skip_locked=True)
            )
        ).scalar_one_or_none()
        if message is None or message.status is not MessageStatus.PENDING:
            return None
        if message.next_attempt_at > utcnow() + timedelta(seconds=1):
            return None  # an earlier job for a message that has since been rescheduled
        connection = await session.get(ErpConnection, tenant_id)
        record = await _record_of(session, message)
        if connection is None or record is None:
            message.status = MessageStatus.DEAD
            message.last_error = "No ERP connection is configured." if connection is None else "The record is gone."
            if record is not None:
                record.sync_state, record.sync_error = SyncState.FAILED, message.last_error
            return message.status
        message.attempts += 1
        port = ports(connection)
        try:
            status = await _push(session, port, record)
        except Exception as exc:  # an unexpected failure is retried within the same bound, then parked
            error = str(exc)[:2000] or type(exc).__name__
            record.sync_error = error
            if getattr(exc, "transient", not isinstance(exc, ErpError)) and message.attempts < message.max_attempts:
                await erp_sync.schedule_retry(session, message, policy.delay(message.attempts), error)
                log.info(
                    "erp delivery of %s failed (attempt %d), retrying: %s",
                    message.idempotency_key,
                    message.attempts,
                    error,
                )
                return message.status
            message.status = MessageStatus.DEAD
            message.last_error = error
            record.sync_state = SyncState.FAILED
            log.warning(
                "erp delivery of %s is dead after %d attempts: %s", message.idempotency_key, message.attempts, error
            )
            return message.status
        finally:
            await port.close()
        message.status = MessageStatus.DELIVERED
        message.delivered_at = utcnow()
        message.erp_id = status.erp_id
        message.last_error = None
        record.sync_state = SyncState.SYNCED
        record.sync_error = None
        await apply_status(session, tenant_id, reported(status))
        return message.status


async def _connection_locked(session: AsyncSession, tenant_id: uuid.UUID) -> ErpConnection | None:
    """The tenant's connection, if this worker wins the tenant's inbound lock (others skip the round)."""
    got = (
        await session.execute(
            text("SELECT pg_try_advisory_xact_lock(hashtext('erp-inbound:' || :t))"), {"t": str(tenant_id)}
        )
    ).scalar_one()
    if not got:
        return None
    return await session.get(ErpConnection, tenant_id, with_for_update=True)


@dataclass
class PollResult:
    applied: int = 0
    unchanged: int = 0
    unknown: int = 0
    skipped: bool = False


async def poll(
    sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, *, ports: PortFactory = adapter_for
) -> PollResult:
    """Read the ERP's changes since the stored cursor and apply them in the ERP's order; move the cursor."""
    result = PollResult()
    async with transaction(sessions) as session:
        connection = await _connection_locked(session, tenant_id)
        if connection is None:
            result.skipped = True
            return result
        port = ports(connection)
        try:
            changes = await port.changes_since(connection.poll_cursor)
        except ErpError as exc:
            connection.last_poll_error = str(exc)[:2000]
            connection.last_polled_at = utcnow()
            log.info("erp poll for tenant %s failed: %s", tenant_id, exc)
            return result
        finally:
            await port.close()
        for status in sorted(changes.statuses, key=lambda s: s.changed_at):
            applied = await apply_status(session, tenant_id, reported(status))
            if not applied.found:
                result.unknown += 1
            elif applied.changed:
                result.applied += 1
            else:
                result.unchanged += 1
        connection.poll_cursor = changes.cursor
        connection.last_polled_at = utcnow()
        connection.last_poll_error = None
    return result


async def sync_products(
    sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, *, ports: PortFactory = adapter_for
) -> int:
    """Pull the ERP's catalogue into the tenant's products; how many changed."""
    async with transaction(sessions) as session:
        connection = await session.get(ErpConnection, tenant_id)
        if connection is None:
            raise ErpError("No ERP connection is configured for this tenant.")
        port = ports(connection)
        try:
            products = await port.products()
        finally:
            await port.close()
        entries = [CatalogEntry(p.code, p.name, p.list_price, p.currency, p.active, p.erp_id) for p in products]
        changed = await upsert_products(session, tenant_id, entries)
        connection.products_synced_at = utcnow()
        return changed


async def refresh_credit(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    reference: str,
    *,
    ports: PortFactory = adapter_for,
) -> tuple[Decimal | None, Decimal] | None:
    """Ask the ERP for a party's credit and keep it; None when there is no connection or the ERP is down."""
    async with transaction(sessions) as session:
        connection = await session.get(ErpConnection, tenant_id)
        if connection is None:
            return None
        port = ports(connection)
        try:
            limit, owed = await port.credit_limit(reference)
        except ErpError as exc:
            log.info("credit check for %s fell back to the last known standing: %s", reference, exc)
            return None
        finally:
            await port.close()
        await record_credit(session, tenant_id, reference, limit, owed)
        return limit, owed


async def products_due(sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, every: timedelta) -> bool:
    async with sessions() as session:
        connection = await session.get(ErpConnection, tenant_id)
    if connection is None:
        return False
    return connection.products_synced_at is None or connection.products_synced_at < utcnow() - every


async def tenants_with_erp(sessions: async_sessionmaker[AsyncSession]) -> list[uuid.UUID]:
    async with sessions() as session:
        return list((await session.execute(select(ErpConnection.tenant_id))).scalars())


async def pending_messages(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(
            (
                await session.execute(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == MessageStatus.PENDING)
                )
            ).scalar_one()
        )
