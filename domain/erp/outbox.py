"""What the CRM owes the ERP and what it last heard back: the outbox, connections and numbering.

An order or contract change and its outbox message are written in the caller's transaction; a
PgQueuer job that points at the message is enqueued on the same connection, so either all three
commit or none does. The message, not the job, is the record of truth: its status, attempts and
last error are what the API shows and what an operator retries. The job only wakes a worker at
once; every worker also picks up each due message itself, so no message depends on a job existing.

A delivery claims its message for a while (a lease: `claimed_until`, `claimed_by`) in a short
transaction, calls the ERP with no transaction open, and records the outcome in a second short one.
A worker that dies lets go when its lease runs out. Times are the database's clock, so workers on
several hosts agree on what is due. The inbound poll holds a tenant's connection the same way
(`poll_claimed_until`, `poll_claimed_by`), so one worker at a time reads that tenant's ERP.

The worker's reads are a system job's: each goes through a system unit of work over the message's tenant
(or, for a sweep of every tenant's due messages, `across_tenants`). People read the outbox through their own
unit of work (`outbox_messages`, `erp_health`), which narrows it to what their role may see.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson
from pgqueuer.queries import Queries
from sqlalchemy import (
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Index,
    Integer,
    Select,
    String,
    Text,
    Uuid,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import Protected, UnitOfWork, across_tenants, system_unit_of_work
from domain.identity.tenants import Tenant
from domain.shared.base import Base, TenantScoped, Timestamped, utcnow
from domain.shared.errors import Forbidden
from domain.shared.prepared import driver_connection

DELIVER_ENTRYPOINT = "erp_deliver"
# The attempt bound of old: still stored (clients may read it) but retries are bounded by time (`retry_until`).
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


class OutboxMessage(Protected, TenantScoped, Timestamped, Base):
    """One change the ERP must receive, delivered at least once and applied there once."""

    __resource__ = Resource.ERP_SYNC
    __label__ = "outbox message"

    __tablename__ = "outbox_message"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        Index("ix_outbox_message_record", "tenant_id", "record_id"),
        Index("ix_outbox_message_status", "tenant_id", "status", "created_at"),
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
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
    # A delivery attempt holds the message until then (a worker that dies lets go when it passes), and who holds it.
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Set by the first failure in a row: a transient failure after this parks the message as dead.
    retry_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


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
    # An inbound poll holds the connection until then (a worker that dies lets go when it passes), and who holds it.
    poll_claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    poll_claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


class WebhookReceipt(Base):
    """A signed notification already applied: the same delivery id again is a replay."""

    __tablename__ = "webhook_receipt"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ErpParty(Base):
    """A customer or partner the ERP holds as a party, by the CRM's reference: made there once.

    Without an `erp_id` yet, the row is a claim: the delivery holding it (until `claimed_until`) is making
    the party in the ERP, and other first orders of the same buyer wait for it instead of making another.
    """

    __tablename__ = "erp_party"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    erp_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


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
    driver = await driver_connection(session)
    payload = orjson.dumps({"tenant_id": str(message.tenant_id), "message_id": str(message.id)})
    await Queries.from_asyncpg_connection(driver).enqueue(DELIVER_ENTRYPOINT, payload, execute_after=delay)


def _bookkeeping(session: AsyncSession, tenant_id: uuid.UUID) -> UnitOfWork:
    """The outbox's own door for a change being written: the ERP link's bookkeeping, not a read of the actor's.

    Whoever places an order writes its outbox message, whether or not their role may read the outbox.
    """
    return system_unit_of_work(session, tenant_id, "erp outbox")


async def enqueue(
    session: AsyncSession, tenant_id: uuid.UUID, kind: MessageKind, record_id: uuid.UUID, reference: str
) -> OutboxMessage:
    """Queue delivery of a record's current state (in the caller's transaction); an undelivered message for it
    already covers this change.

    A message a worker holds right now carries the record as it was when the worker read it, so it does not
    cover this change: a new message follows it (two messages of one record reach the ERP one after the other).
    The waiting message is row-locked, so a worker cannot claim it between this check and the caller's commit.
    """
    outbox = _bookkeeping(session, tenant_id)
    waiting = (
        (
            await session.execute(
                outbox.visible(OutboxMessage, Action.UPDATE)
                .where(
                    OutboxMessage.record_id == record_id,
                    OutboxMessage.status == MessageStatus.PENDING,
                    or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < func.now()),
                )
                .order_by(OutboxMessage.created_at)
                .with_for_update()
            )
        )
        .scalars()
        .first()
    )
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


async def send_now(
    session: AsyncSession, tenant_id: uuid.UUID, kind: MessageKind, record_id: uuid.UUID, reference: str
) -> OutboxMessage:
    """Queue the record's current state and make its message due now, whatever backoff it was waiting out."""
    message = await enqueue(session, tenant_id, kind, record_id, reference)
    message.next_attempt_at = await database_now(session)
    await session.flush()
    return message


async def requeue(session: AsyncSession, message: OutboxMessage) -> None:
    """Give a dead message a fresh start: due now, with a whole retry budget again."""
    message.status = MessageStatus.PENDING
    message.attempts = 0
    message.retry_until = None
    message.claimed_until = message.claimed_by = None
    message.next_attempt_at = await database_now(session)
    await session.flush()
    await _enqueue_job(session, message)


async def database_now(session: AsyncSession) -> datetime:
    """The database's clock: leases and due times are set and compared by it, whichever host a worker runs on."""
    return (await session.execute(select(func.clock_timestamp()))).scalar_one()


def is_claimed(message: OutboxMessage, now: datetime) -> bool:
    """Whether a delivery attempt holds the message (a worker is talking to the ERP about it)."""
    return message.claimed_until is not None and message.claimed_until > now


async def lock_due(uow: UnitOfWork, message_id: uuid.UUID) -> OutboxMessage | None:
    """The pending message, row-locked, when it is due and no delivery holds it; None otherwise."""
    return (
        await uow.session.execute(
            uow.visible(OutboxMessage, Action.UPDATE)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.status == MessageStatus.PENDING,
                OutboxMessage.next_attempt_at <= func.clock_timestamp(),
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= func.clock_timestamp()),
            )
            .with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()


async def _any_other(uow: UnitOfWork, message: OutboxMessage, *conditions: Any) -> bool:
    """Whether another pending message of the same record meets `conditions`."""
    others = uow.visible_columns(OutboxMessage, OutboxMessage.id).where(
        OutboxMessage.record_id == message.record_id,
        OutboxMessage.id != message.id,
        OutboxMessage.status == MessageStatus.PENDING,
        *conditions,
    )
    return (await uow.session.execute(others.limit(1))).first() is not None


async def other_in_flight(uow: UnitOfWork, message: OutboxMessage, now: datetime) -> bool:
    """Whether another message of the same record is at the ERP right now."""
    return await _any_other(uow, message, OutboxMessage.claimed_until > now)


async def newer_waiting(uow: UnitOfWork, message: OutboxMessage) -> bool:
    """Whether another message of the same record is pending (a change made while this one was at the ERP)."""
    return await _any_other(uow, message)


def claim(message: OutboxMessage, claimant: str, now: datetime, lease: timedelta) -> None:
    """Hold the message for one delivery attempt (counted now, so an attempt cut short by a crash still counts)."""
    message.claimed_until = now + lease
    message.claimed_by = claimant
    message.attempts += 1


async def lock_claimed(uow: UnitOfWork, message_id: uuid.UUID, claimant: str) -> OutboxMessage | None:
    """The message, row-locked, if this attempt still holds it (None when its lease ran out and another took it)."""
    return (
        await uow.session.execute(
            uow.visible(OutboxMessage, Action.UPDATE)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.claimed_by == claimant,
                OutboxMessage.status == MessageStatus.PENDING,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()


def delivered(message: OutboxMessage, erp_id: str, now: datetime) -> None:
    message.status = MessageStatus.DELIVERED
    message.delivered_at = now
    message.erp_id = erp_id
    message.last_error = None
    message.retry_until = None
    message.claimed_until = message.claimed_by = None


def dead(message: OutboxMessage, error: str) -> None:
    message.status = MessageStatus.DEAD
    message.last_error = error
    message.claimed_until = message.claimed_by = None


def failed(message: OutboxMessage, error: str, now: datetime, retry_in: timedelta, budget: timedelta) -> MessageStatus:
    """After a transient failure recorded at `now`: due again after `retry_in`, or dead once the budget is spent.

    The budget runs from the first failure in a row, so a message that waited in a backlog gets all of it.
    """
    message.last_error = error
    message.claimed_until = message.claimed_by = None
    if message.retry_until is None:
        message.retry_until = now + budget
    if now >= message.retry_until:
        message.status = MessageStatus.DEAD
    else:
        message.next_attempt_at = min(now + retry_in, message.retry_until)
    return message.status


async def due_messages(session: AsyncSession, *, per_tenant: int, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant id, message id) of pending messages due now that no delivery holds: the longest-due first, at most
    `per_tenant` of any one tenant (so a tenant with a large backlog or a hung ERP does not crowd out the others)."""
    due = text(
        """
        SELECT tenant_id, id FROM (
            SELECT tenant_id, id, next_attempt_at,
                   row_number() OVER (PARTITION BY tenant_id ORDER BY next_attempt_at, id) AS place
            FROM outbox_message
            WHERE status = 'PENDING' AND next_attempt_at <= clock_timestamp()
              AND (claimed_until IS NULL OR claimed_until <= clock_timestamp())
        ) due
        WHERE place <= :per_tenant
        ORDER BY next_attempt_at, id
        LIMIT :limit
        """
    )
    rows = await session.execute(
        across_tenants(due, "a worker's sweep delivers every tenant's due messages"),
        {"per_tenant": per_tenant, "limit": limit},
    )
    return [(tenant_id, message_id) for tenant_id, message_id in rows.all()]


async def pending_schedule(session: AsyncSession) -> list[tuple[uuid.UUID, uuid.UUID, datetime]]:
    """(tenant id, message id, when a worker may next take it) of every pending message."""
    schedule = select(
        OutboxMessage.tenant_id,
        OutboxMessage.id,
        func.greatest(OutboxMessage.next_attempt_at, OutboxMessage.claimed_until),  # NULL is ignored
    ).where(OutboxMessage.status == MessageStatus.PENDING)
    rows = await session.execute(across_tenants(schedule, "a drain delivers every tenant's pending messages"))
    return [(tenant_id, message_id, at) for tenant_id, message_id, at in rows.all()]


async def retry_now(uow: UnitOfWork) -> int:
    """Make the tenant's messages that wait out a backoff due now (the ERP has just answered); how many.

    Backoff protects an ERP that is down; once it answers again, waiting out a long backoff only delays
    the backlog, so a healthy round of the inbound poll brings every waiting message forward.
    """
    result = await uow.session.execute(
        uow.mark(
            update(OutboxMessage)
            .where(
                uow.rows(OutboxMessage, Action.UPDATE),
                OutboxMessage.status == MessageStatus.PENDING,
                OutboxMessage.attempts > 0,
                OutboxMessage.next_attempt_at > func.clock_timestamp(),
            )
            .values(next_attempt_at=func.clock_timestamp())
            .execution_options(synchronize_session=False)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def waiting_messages(uow: UnitOfWork) -> dict[uuid.UUID, OutboxMessage]:
    """The oldest pending message of each of the tenant's records that has one, by record id."""
    rows = await uow.session.execute(
        uow.visible(OutboxMessage)
        .where(OutboxMessage.status == MessageStatus.PENDING)
        .order_by(OutboxMessage.created_at.desc())
    )
    return {message.record_id: message for message in rows.scalars()}


@dataclass(frozen=True)
class PartyClaim:
    """Where a delivery stands with its buyer's ERP party: known (`erp_id`), to be made by it (`ours`), or neither
    (another delivery is making it right now)."""

    erp_id: str | None
    ours: bool

    @property
    def busy(self) -> bool:
        return self.erp_id is None and not self.ours


async def claim_party(uow: UnitOfWork, reference: str, now: datetime, lease: timedelta) -> PartyClaim:
    """The party's ERP id when known; else claim making it (row-locked, so two first orders cannot both claim)."""
    session, tenant_id = uow.session, uow.tenant_id
    known = await session.get(ErpParty, (tenant_id, reference))
    if known is not None and known.erp_id is not None:
        return PartyClaim(known.erp_id, ours=False)
    await session.execute(
        pg_insert(ErpParty)
        .values(tenant_id=tenant_id, reference=reference, erp_id=None, created_at=now)
        .on_conflict_do_nothing(index_elements=["tenant_id", "reference"])
    )
    party = (
        await session.execute(
            select(ErpParty)
            .where(ErpParty.tenant_id == tenant_id, ErpParty.reference == reference)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    if party.erp_id is not None:
        return PartyClaim(party.erp_id, ours=False)
    if party.claimed_until is not None and party.claimed_until > now:
        return PartyClaim(None, ours=False)
    party.claimed_until = now + lease
    return PartyClaim(None, ours=True)


async def record_party(uow: UnitOfWork, reference: str, erp_id: str | None) -> None:
    """What a claimed party came to: its ERP id, or (None) nothing, so the claim is let go for the next delivery."""
    await uow.session.execute(
        update(ErpParty)
        .where(ErpParty.tenant_id == uow.tenant_id, ErpParty.reference == reference, ErpParty.erp_id.is_(None))
        .values(erp_id=erp_id, claimed_until=None)
        .execution_options(synchronize_session=False)
    )


async def connection_of(session: AsyncSession, tenant_id: uuid.UUID) -> ErpConnection | None:
    """The tenant's ERP connection, if it has one."""
    return await session.get(ErpConnection, tenant_id)


async def connected_tenants(session: AsyncSession) -> list[uuid.UUID]:
    """Every tenant with an ERP connection."""
    return list((await session.execute(select(ErpConnection.tenant_id))).scalars())


async def claim_poll(
    session: AsyncSession, tenant_id: uuid.UUID, claimant: str, lease: timedelta
) -> ErpConnection | None:
    """The tenant's connection, held for one inbound poll until `lease` from now; None when another poll holds it
    (or the tenant has no connection). One statement, so two workers cannot both claim it."""
    claimed = (
        update(ErpConnection)
        .where(
            ErpConnection.tenant_id == tenant_id,
            or_(ErpConnection.poll_claimed_until.is_(None), ErpConnection.poll_claimed_until <= func.clock_timestamp()),
        )
        .values(poll_claimed_until=func.clock_timestamp() + lease, poll_claimed_by=claimant)
        .returning(ErpConnection)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.execute(claimed)).scalar_one_or_none()


async def held_poll(session: AsyncSession, tenant_id: uuid.UUID, claimant: str) -> ErpConnection | None:
    """The connection, row-locked, while this poll's lease lasts; None once it has run out (another worker may have
    taken the poll over, and what this one read is no longer its to apply)."""
    return (
        await session.execute(
            select(ErpConnection)
            .where(
                ErpConnection.tenant_id == tenant_id,
                ErpConnection.poll_claimed_by == claimant,
                ErpConnection.poll_claimed_until > func.clock_timestamp(),
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


def polled(connection: ErpConnection, *, cursor: str | None, error: str | None) -> None:
    """Record a poll's round (the cursor it advanced to, or what went wrong) and let its lease go."""
    if error is None:
        connection.poll_cursor = cursor
    connection.last_poll_error = error
    connection.last_polled_at = utcnow()
    connection.poll_claimed_until = connection.poll_claimed_by = None


async def webhook_secret(session: AsyncSession, slug: str) -> tuple[uuid.UUID, str] | None:
    """(tenant id, secret) of the tenant with this slug, when it takes signed webhooks from its ERP."""
    found = (
        await session.execute(
            select(Tenant.id, ErpConnection.webhook_secret)
            .join(ErpConnection, ErpConnection.tenant_id == Tenant.id)
            .where(Tenant.slug == slug)
        )
    ).one_or_none()
    if found is None or not found.webhook_secret:
        return None
    return found.id, found.webhook_secret


async def record_receipt(uow: UnitOfWork, delivery_id: str) -> bool:
    """Note a signed notification as received; False when its delivery id was received before (a replay)."""
    inserted = await uow.session.execute(
        pg_insert(WebhookReceipt)
        .values(tenant_id=uow.tenant_id, delivery_id=delivery_id)
        .on_conflict_do_nothing()
        .returning(WebhookReceipt.delivery_id)
    )
    return inserted.scalar_one_or_none() is not None


def _require_outbox_reader(uow: UnitOfWork, what: str) -> None:
    if not uow.access.can(Resource.ERP_SYNC, Action.READ):
        raise Forbidden(f"Your role may not read the {what}.")


def outbox_messages(uow: UnitOfWork, status: MessageStatus | None = None) -> Select[Any]:
    """The outbox messages the actor may read (integration, finance and admin roles), optionally in one status.

    Raises Forbidden when the actor's role may not read the outbox at all.
    """
    _require_outbox_reader(uow, "ERP outbox")
    stmt = uow.visible(OutboxMessage)
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    return stmt


@dataclass(frozen=True)
class ErpHealth:
    """The ERP link as an operator watches it: the connection, its last poll and catalogue pull, the backlog."""

    connection: ErpConnection | None
    pending: int
    dead: int
    oldest_pending_at: datetime | None


async def erp_health(uow: UnitOfWork) -> ErpHealth:
    """The tenant's ERP link and the outbox backlog the actor may see; Forbidden to roles that may not read it."""
    _require_outbox_reader(uow, "ERP link's status")
    connection = await connection_of(uow.session, uow.tenant_id)
    counts = dict(
        (
            await uow.session.execute(
                uow.visible_columns(OutboxMessage, OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            )
        ).all()
    )
    oldest = await uow.session.scalar(
        uow.visible_columns(OutboxMessage, func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == MessageStatus.PENDING
        )
    )
    return ErpHealth(connection, counts.get(MessageStatus.PENDING, 0), counts.get(MessageStatus.DEAD, 0), oldest)


class ErpMirror:
    """What an order or contract last heard from the ERP, and whether the ERP has its latest version."""

    erp_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    erp_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    erp_state: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The ERP's change time of the status applied last: older news is ignored, so order per record holds.
    erp_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sync_state: Mapped[SyncState] = mapped_column(Enum(SyncState, name="sync_state"), default=SyncState.NOT_SENT)
    sync_error: Mapped[str | None] = mapped_column(Text, nullable=True)
