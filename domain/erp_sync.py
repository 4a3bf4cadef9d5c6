"""What the CRM owes the ERP and what it last heard back: the outbox, connections and numbering.

An order or contract change and its outbox message are written in the caller's transaction; a
PgQueuer job that points at the message is enqueued on the same connection, so either all three
commit or none does. The message, not the job, is the record of truth: its status, attempts and
last error are what the API shows and what an operator retries.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import (
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import Base, TenantScoped, Timestamped, utcnow

DELIVER_ENTRYPOINT = "erp_deliver"
DEFAULT_MAX_ATTEMPTS = 8


class SyncState(StrEnum):
    """Where a record stands with the ERP."""

    NOT_SENT = "not_sent"  # nothing to send yet (a draft)
    PENDING = "pending"  # a message waits for delivery (or for a retry)
    SYNCED = "synced"  # the ERP holds the latest version
    FAILED = "failed"  # delivery gave up: see the dead message


class MessageStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    CANCELLED = "cancelled"  # its record was cancelled before delivery: nothing to send


class MessageKind(StrEnum):
    ORDER = "order"
    CONTRACT = "contract"


class OutboxMessage(TenantScoped, Timestamped, Base):
    """One change the ERP must receive, delivered at least once and applied there once."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        Index("ix_outbox_message_record", "tenant_id", "record_id"),
        Index("ix_outbox_message_status", "tenant_id", "status", "created_at"),
    )

    kind: Mapped[MessageKind] = mapped_column(Enum(MessageKind, name="outbox_kind"))
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # The CRM's reference for the record: the ERP looks it up before creating, so delivery is idempotent.
    idempotency_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[MessageStatus] = mapped_column(
        Enum(MessageStatus, name="outbox_status"), default=MessageStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=DEFAULT_MAX_ATTEMPTS)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    erp_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ErpAdapterKind(StrEnum):
    TRYTON = "tryton"
    WEBHOOK = "webhook"


class ErpConnection(Base):
    """A tenant's ERP: which adapter, how to reach it, and how far inbound sync has read."""

    __tablename__ = "erp_connection"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    adapter: Mapped[ErpAdapterKind] = mapped_column(Enum(ErpAdapterKind, name="erp_adapter"))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # Shared secret for signed webhooks, both directions.
    webhook_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    poll_cursor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_polled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_poll_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    products_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebhookReceipt(Base):
    """A signed notification already applied: the same delivery id again is a replay."""

    __tablename__ = "webhook_receipt"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ErpParty(Base):
    """A customer or partner the ERP holds as a party, by the CRM's reference: made there once."""

    __tablename__ = "erp_party"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    erp_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NumberSequence(Base):
    """Per-tenant counters for human-readable numbers (orders, contracts, quotes)."""

    __tablename__ = "number_sequence"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


async def next_number(session: AsyncSession, tenant_id: uuid.UUID, prefix: str) -> str:
    """The next number in a tenant's sequence, such as SO-000042 (gap-free per committed transaction)."""
    value = (
        await session.execute(
            text(
                "INSERT INTO number_sequence (tenant_id, name, value) VALUES (:t, :n, 1) "
                "ON CONFLICT (tenant_id, name) DO UPDATE SET value = number_sequence.value + 1 RETURNING value"
            ),
            {"t": tenant_id, "n": prefix},
        )
    ).scalar_one()
    return f"{prefix}-{value:06d}"


async def _enqueue_job(session: AsyncSession, message: OutboxMessage, delay: timedelta | None = None) -> None:
    """A PgQueuer job for the message, on the session's own connection (so in its transaction)."""
    from pgqueuer.queries import Queries

    connection = await session.connection()
    raw = await connection.get_raw_connection()
    payload = orjson.dumps({"tenant_id": str(message.tenant_id), "message_id": str(message.id)})
    await Queries.from_asyncpg_connection(raw.driver_connection).enqueue(  # type: ignore[arg-type]
        DELIVER_ENTRYPOINT, payload, execute_after=delay
    )


async def enqueue(
    session: AsyncSession, tenant_id: uuid.UUID, kind: MessageKind, record_id: uuid.UUID, reference: str
) -> OutboxMessage:
    """Queue delivery of a record's current state; an undelivered message for it already covers this change."""
    waiting = (
        await session.execute(
            select(OutboxMessage).where(
                OutboxMessage.tenant_id == tenant_id,
                OutboxMessage.record_id == record_id,
                OutboxMessage.status == MessageStatus.PENDING,
            )
        )
    ).scalar_one_or_none()
    if waiting is not None:
        return waiting
    message = OutboxMessage(
        tenant_id=tenant_id,
        id=uuid.uuid4(),
        kind=kind,
        record_id=record_id,
        idempotency_key=reference,
        status=MessageStatus.PENDING,
        attempts=0,
        max_attempts=DEFAULT_MAX_ATTEMPTS,
        next_attempt_at=utcnow(),
    )
    session.add(message)
    await session.flush()
    await _enqueue_job(session, message)
    return message


async def schedule_retry(session: AsyncSession, message: OutboxMessage, delay: timedelta, error: str) -> None:
    message.last_error = error
    message.next_attempt_at = utcnow() + delay
    await session.flush()
    await _enqueue_job(session, message, delay)


async def requeue(session: AsyncSession, message: OutboxMessage) -> None:
    """Give a dead message a fresh set of attempts."""
    message.status = MessageStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = utcnow()
    await session.flush()
    await _enqueue_job(session, message)


class ErpMirror:
    """What an order or contract last heard from the ERP, and whether the ERP has its latest version."""

    erp_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    erp_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    erp_state: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The ERP's change time of the status applied last: older news is ignored, so order per record holds.
    erp_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sync_state: Mapped[SyncState] = mapped_column(Enum(SyncState, name="sync_state"), default=SyncState.NOT_SENT)
    sync_error: Mapped[str | None] = mapped_column(Text, nullable=True)


async def requeue_stranded(session: AsyncSession, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Pending messages overdue by `older_than` with no job left in the queue get a new job; how many.

    A job can be lost while its message stays pending: a worker whose own transaction failed
    (the database went away mid-delivery) has its job ended by the queue as an exception.
    """
    rows = (
        await session.execute(
            text(
                """
                SELECT m.tenant_id, m.id FROM outbox_message m
                WHERE m.status = 'PENDING' AND m.next_attempt_at < now() - make_interval(secs => :secs)
                  AND NOT EXISTS (
                      SELECT 1 FROM pgqueuer q
                      WHERE q.entrypoint = :entrypoint
                        AND convert_from(q.payload, 'UTF8')::jsonb ->> 'message_id' = m.id::text)
                FOR UPDATE OF m SKIP LOCKED
                """
            ),
            {"secs": older_than.total_seconds(), "entrypoint": DELIVER_ENTRYPOINT},
        )
    ).all()
    for tenant_id, message_id in rows:
        message = await session.get(OutboxMessage, (tenant_id, message_id))
        assert message is not None
        await _enqueue_job(session, message)
    return len(rows)
