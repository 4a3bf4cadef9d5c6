"""The relay between the CRM's outbox and the ERP, and the inbound side that applies what comes back.

A delivery never holds a database transaction (or a pooled connection) while it waits on the ERP:
it claims its message with a lease and reads what to send in one short transaction, calls the ERP
with no transaction open and within a time limit, then records the outcome in a second short one
(retried while its lease lasts, so a database restart during the call does not make it push again).
Two workers never work one message at once (the lease), nor two messages of one record, nor make one
buyer's party twice (a party claim). The adapter looks the record up by its CRM reference before
creating it, so a message delivered twice (a worker killed after the ERP call, before its outcome was
recorded) still leaves one record in the ERP. Transient failures are retried with capped exponential
backoff and full jitter (tenacity's `wait_random_exponential`) for a time budget, then the message is dead.

The inbound poll works the same way: it claims the tenant's poll with a lease on its ERP connection in one
short transaction, reads the ERP's changes with no transaction open and within a time limit, then applies
them and advances the cursor in a second short one, only while its lease still holds (a lease that ran out
means another worker took the poll over, and what this one read is dropped). The catalogue pull and the
credit check also ask the ERP with no transaction open.

Every read here is a system job's, through a system unit of work over the message's tenant.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, stop_after_delay, wait_exponential, wait_random_exponential

from domain.access.actor import Action
from domain.access.unit_of_work import UnitOfWork, system_unit_of_work
from domain.channel.organizations import Organization
from domain.commerce.catalog import CatalogEntry, upsert_products
from domain.commerce.contracts import Contract, contract_lines
from domain.commerce.orders import Order, order_lines, party_reference, record_credit
from domain.erp import outbox as erp_sync
from domain.erp.outbox import ErpAdapterKind, ErpConnection, MessageKind, MessageStatus, SyncState
from domain.erp.status import ReportedStatus, apply_status
from domain.selling.accounts import Account
from domain.shared.base import utcnow
from infrastructure.db import transaction
from integrations.erp.port import (
    ErpChanges,
    ErpContract,
    ErpError,
    ErpLine,
    ErpNotConnected,
    ErpOrder,
    ErpParty,
    ErpPort,
    ErpStatus,
    ErpUnavailable,
)
from integrations.erp.tryton import TrytonErp
from integrations.erp.webhook import SignedWebhookErp

log = logging.getLogger("crm.erp")
DELIVERY_JOB = "erp delivery"
POLL_JOB = "erp poll"


def _setting(name: str, default: float | None, unit: str = "seconds") -> float | None:
    """A positive number from the environment (an operator's setting), or a clear error naming it."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if not value > 0:
        raise ValueError(f"{name} must be a positive number of {unit}, not {raw!r}.")
    return value


def _required(name: str, default: float, unit: str = "seconds") -> float:
    value = _setting(name, default, unit)
    assert value is not None
    return value


@dataclass(frozen=True)
class RetryPolicy:
    """How delivery waits on the ERP and tries again.

    Each attempt's ERP calls must finish within `call_timeout_seconds`, under a lease of `lease_seconds`
    (by default the call timeout and half a minute for the database). After a transient failure the
    message waits a random time in [0, min(cap, base·2^(n-1))] seconds after attempt n, and is retried
    for `budget_seconds` from the first failure in a row (24 hours, as Salesforce retries its outbound
    messages), then parked as dead.
    """

    base_seconds: float = _required("CRM_ERP_RETRY_BASE_SECONDS", 2)
    cap_seconds: float = _required("CRM_ERP_RETRY_CAP_SECONDS", 600)
    budget_seconds: float = _required("CRM_ERP_RETRY_HOURS", 24, "hours") * 3600
    call_timeout_seconds: float = _required("CRM_ERP_CALL_TIMEOUT_SECONDS", 30)
    lease_seconds: float | None = _setting("CRM_ERP_LEASE_SECONDS", None)

    def delay(self, attempt: int) -> timedelta:
        wait = wait_random_exponential(multiplier=self.base_seconds, max=self.cap_seconds)
        return timedelta(seconds=wait(SimpleNamespace(attempt_number=attempt)))  # type: ignore[arg-type]

    @property
    def budget(self) -> timedelta:
        return timedelta(seconds=self.budget_seconds)

    @property
    def lease(self) -> timedelta:
        """How long an attempt holds its message: longer than its ERP calls may take, so it is never taken mid-call."""
        if self.lease_seconds is not None:
            return timedelta(seconds=max(self.lease_seconds, self.call_timeout_seconds + 1))
        return timedelta(seconds=self.call_timeout_seconds + 30)


def adapter_for(connection: ErpConnection) -> ErpPort:
    """The adapter a tenant's connection names, built from its settings."""
    settings = connection.settings or {}
    if connection.adapter is ErpAdapterKind.TRYTON:
        return TrytonErp(settings["url"], settings["database"], settings["login"], settings["password"])
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


async def _party(uow: UnitOfWork, record: Order | Contract) -> ErpParty:
    """The billed party: the buying partner, else the customer account (the CRM id is the reference)."""
    reference = party_reference(record)
    if record.partner_organization_id is not None:
        org = await uow.get(Organization, record.partner_organization_id)
        return ErpParty(reference=reference, name=org.name)
    account = await uow.get(Account, record.account_id)
    return ErpParty(reference=reference, name=account.name, tax_id=account.tax_id)


async def _document(session: AsyncSession, record: Order | Contract, party: ErpParty) -> ErpOrder | ErpContract:
    """What the ERP receives for the record, as it stands now."""
    tenant_id = record.tenant_id
    if isinstance(record, Order):
        lines = tuple(
            ErpLine(x.product_code, x.description, x.quantity, x.unit_price)
            for x in await order_lines(session, tenant_id, record.id)
        )
        return ErpOrder(record.number, party, record.currency, lines, record.created_at.date())
    clines = tuple(
        ErpLine(x.product_code, x.description, x.quantity, x.monthly_price)
        for x in await contract_lines(session, tenant_id, record.id)
    )
    return ErpContract(record.number, party, record.currency, clines, record.start_date, record.end_date)


_RECORD_GONE = object()


def _model(kind: MessageKind) -> type[Order | Contract]:
    return Order if kind is MessageKind.ORDER else Contract


async def _record_of(uow: UnitOfWork, kind: MessageKind, record_id: uuid.UUID) -> Order | Contract | object | None:
    """The message's order or contract, row-locked; None when a change to it is being written right now (so the
    delivery waits for it rather than send the state before it), `_RECORD_GONE` when there is no such record."""
    model = _model(kind)
    record = (
        await uow.session.execute(
            uow.visible(model, Action.UPDATE).where(model.id == record_id).with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()
    if record is not None:
        return record
    exists = await uow.session.scalar(uow.visible_columns(model, model.id).where(model.id == record_id))
    return None if exists is not None else _RECORD_GONE


async def _locked_record(uow: UnitOfWork, kind: MessageKind, record_id: uuid.UUID) -> Order | Contract | None:
    """The order or contract, row-locked (waiting for a change being written to it); None when it is gone."""
    model = _model(kind)
    found = await uow.session.execute(uow.visible(model, Action.UPDATE).where(model.id == record_id).with_for_update())
    return found.scalar_one_or_none()


def claimant() -> str:
    """Who holds a claim, for an operator reading the outbox: host, process and this attempt."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class _Attempt:
    """What one attempt took from the database in its claim: all it needs to talk to the ERP with none open."""

    claimant: str
    kind: MessageKind
    record_id: uuid.UUID
    connection: ErpConnection
    party: ErpParty
    make_party: bool
    document: ErpOrder | ErpContract


async def _claim(
    sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, message_id: uuid.UUID, policy: RetryPolicy
) -> _Attempt | MessageStatus | None:
    """Claim a due message for one attempt (short transaction); a status when it is settled without the ERP,
    None when it is not this attempt's to make (not due, held by another worker, or its record busy)."""
    async with transaction(sessions) as session:
        uow = system_unit_of_work(session, tenant_id, DELIVERY_JOB)
        message = await erp_sync.lock_due(uow, message_id)
        if message is None:
            return None
        now = await erp_sync.database_now(session)
        connection = await erp_sync.connection_of(session, tenant_id)
        record = await _record_of(uow, message.kind, message.record_id)
        if record is None:
            return None  # a change to it is being committed: its next round sends the new state
        if connection is None or record is _RECORD_GONE:
            erp_sync.dead(message, "No ERP connection is configured." if connection is None else "The record is gone.")
            if isinstance(record, Order | Contract):
                record.sync_state, record.sync_error = SyncState.FAILED, message.last_error
            return message.status
        assert isinstance(record, Order | Contract)
        if await erp_sync.other_in_flight(uow, message, now):
            return None  # the record's earlier message is at the ERP: this one follows it
        party = await _party(uow, record)
        standing = await erp_sync.claim_party(uow, party.reference, now, policy.lease)
        if standing.busy:
            return None  # another first order of this buyer is making its party: go after it
        document = await _document(session, record, party)
        holder = claimant()
        erp_sync.claim(message, holder, now, policy.lease)
        return _Attempt(holder, message.kind, record.id, connection, party, standing.ours, document)


@dataclass(frozen=True)
class _Outcome:
    status: ErpStatus | None = None
    party_erp_id: str | None = None
    error: Exception | None = None


async def _call_erp(port: ErpPort, attempt: _Attempt, policy: RetryPolicy) -> _Outcome:
    """The attempt's ERP calls (make the party when it is this attempt's to make, then push), within the time limit."""
    party_erp_id = None
    try:
        async with asyncio.timeout(policy.call_timeout_seconds):
            if attempt.make_party:
                party_erp_id = await port.ensure_party(attempt.party)
            if isinstance(attempt.document, ErpOrder):
                status = await port.push_order(attempt.document)
            else:
                status = await port.push_contract(attempt.document)
    except TimeoutError:
        limit = f"{policy.call_timeout_seconds:g}"
        return _Outcome(party_erp_id=party_erp_id, error=ErpUnavailable(f"The ERP did not answer within {limit} s."))
    except Exception as exc:  # an unexpected failure is retried within the same budget, then parked
        return _Outcome(party_erp_id=party_erp_id, error=exc)
    return _Outcome(status=status, party_erp_id=party_erp_id)


def _is_transient(exc: Exception) -> bool:
    return bool(getattr(exc, "transient", not isinstance(exc, ErpError)))


async def _record_outcome(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    attempt: _Attempt,
    outcome: _Outcome,
    policy: RetryPolicy,
) -> MessageStatus | None:
    """Write what the ERP said (short transaction); None when the lease ran out and another attempt took over.

    Locks go record, party, message: the order an order's own changes take (record, then message).
    """
    async with transaction(sessions) as session:
        uow = system_unit_of_work(session, tenant_id, DELIVERY_JOB)
        record = await _locked_record(uow, attempt.kind, attempt.record_id)
        if outcome.status is not None:
            await apply_status(uow, reported(outcome.status))  # what the ERP holds, whoever asked
        if attempt.make_party:
            await erp_sync.record_party(uow, attempt.party.reference, outcome.party_erp_id)
        message = await erp_sync.lock_claimed(uow, message_id, attempt.claimant)
        if message is None:
            log.warning("erp delivery of %s outlived its lease; another attempt took it over", message_id)
            return None
        now = await erp_sync.database_now(session)
        # A change made while this message was at the ERP waits in a message of its own: the record is not in
        # sync (nor failed) until that one is through.
        settles_record = record is not None and not await erp_sync.newer_waiting(uow, message)
        if outcome.status is not None:
            erp_sync.delivered(message, outcome.status.erp_id, now)
            if record is not None and settles_record:
                record.sync_state, record.sync_error = SyncState.SYNCED, None
            return message.status
        assert outcome.error is not None
        error = str(outcome.error)[:2000] or type(outcome.error).__name__
        if _is_transient(outcome.error):
            status = erp_sync.failed(message, error, now, policy.delay(message.attempts), policy.budget)
        else:
            erp_sync.dead(message, error)
            status = message.status
        if record is not None:
            record.sync_error = error
            if status is MessageStatus.DEAD and settles_record:
                record.sync_state = SyncState.FAILED
        if status is MessageStatus.DEAD:
            log.warning(
                "erp delivery of %s is dead after %d attempts: %s", message.idempotency_key, message.attempts, error
            )
        else:
            log.info(
                "erp delivery of %s failed (attempt %d), next at %s: %s",
                message.idempotency_key,
                message.attempts,
                f"{message.next_attempt_at:%H:%M:%S}",
                error,
            )
        return status


async def deliver(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    *,
    ports: PortFactory = adapter_for,
    policy: RetryPolicy | None = None,
) -> MessageStatus | None:
    """One delivery attempt of one message; None when it is not due, another worker holds it, or it must wait
    (for its record's earlier message, a change being written, or its buyer's party being made)."""
    policy = policy or RetryPolicy()
    claimed = await _claim(sessions, tenant_id, message_id, policy)
    if not isinstance(claimed, _Attempt):
        return claimed
    port = ports(claimed.connection)
    try:
        outcome = await _call_erp(port, claimed, policy)
    finally:
        await port.close()
    try:
        async for retrying in AsyncRetrying(
            stop=stop_after_delay(policy.lease.total_seconds()), wait=wait_exponential(0.2, max=5), reraise=True
        ):
            with retrying:
                return await _record_outcome(sessions, tenant_id, message_id, claimed, outcome, policy)
    except Exception:  # the database stayed away for the whole lease: the next attempt sends it again
        log.exception("could not record the outcome of delivering %s; it will be sent again", message_id)
    return None


@dataclass
class PollResult:
    applied: int = 0
    unchanged: int = 0
    unknown: int = 0
    skipped: bool = False  # another worker holds the tenant's poll (or the tenant has no ERP connection)
    discarded: bool = False  # the lease ran out while the ERP was read: another worker may have taken over
    retried: int = 0  # outbox messages brought forward from their backoff, the ERP having answered


async def _claim_poll(
    sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, holder: str, policy: RetryPolicy
) -> ErpConnection | None:
    """Claim the tenant's poll for one round (short transaction); None when another worker holds it."""
    async with transaction(sessions) as session:
        return await erp_sync.claim_poll(session, tenant_id, holder, policy.lease)


async def _read_changes(ports: PortFactory, connection: ErpConnection, policy: RetryPolicy) -> ErpChanges | Exception:
    """The ERP's changes since the connection's cursor, within the call time limit (no transaction open); the error
    otherwise (recorded like the ERP's own failures, so the lease is let go at once)."""
    try:
        port = ports(connection)
    except Exception as exc:  # a connection whose settings the adapter cannot use
        log.warning("the erp poll could not reach its adapter", exc_info=True)
        return exc
    try:
        async with asyncio.timeout(policy.call_timeout_seconds):
            return await port.changes_since(connection.poll_cursor)
    except TimeoutError:
        return ErpUnavailable(f"The ERP did not answer within {policy.call_timeout_seconds:g} s.")
    except ErpError as exc:
        return exc
    except Exception as exc:
        log.warning("the erp poll's read failed unexpectedly", exc_info=True)
        return exc
    finally:
        await port.close()


async def _apply_changes(
    sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, holder: str, read: ErpChanges | Exception
) -> PollResult:
    """Apply what the poll read, in the ERP's order, and advance the cursor (short transaction), while the lease
    still holds; a poll whose lease ran out is discarded (what it read is read again by whoever took over)."""
    result = PollResult()
    async with transaction(sessions) as session:
        connection = await erp_sync.held_poll(session, tenant_id, holder)
        if connection is None:
            log.warning("the erp poll of tenant %s outlived its lease; what it read is dropped", tenant_id)
            result.discarded = True
            return result
        if isinstance(read, Exception):
            erp_sync.polled(connection, cursor=None, error=str(read)[:2000] or type(read).__name__)
            log.info("erp poll for tenant %s failed: %s", tenant_id, read)
            return result
        uow = system_unit_of_work(session, tenant_id, POLL_JOB)
        for status in sorted(read.statuses, key=lambda s: s.changed_at):
            applied = await apply_status(uow, reported(status))
            if not applied.found:
                result.unknown += 1
            elif applied.changed:
                result.applied += 1
            else:
                result.unchanged += 1
        erp_sync.polled(connection, cursor=read.cursor, error=None)
        result.retried = await erp_sync.retry_now(uow)
    return result


async def poll(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    *,
    ports: PortFactory = adapter_for,
    policy: RetryPolicy | None = None,
) -> PollResult:
    """Read the ERP's changes since the stored cursor and apply them in the ERP's order; move the cursor.

    One worker at a time polls a tenant (a lease on its ERP connection; others skip the round), and no
    transaction is open while the ERP is read. An ERP that answers is healthy again: the tenant's outbox
    messages waiting out a backoff are made due now, so a backlog drains within one round of the poll after
    an outage rather than a backoff later.
    """
    policy = policy or RetryPolicy()
    holder = claimant()
    connection = await _claim_poll(sessions, tenant_id, holder, policy)
    if connection is None:
        return PollResult(skipped=True)
    read = await _read_changes(ports, connection, policy)
    try:
        async for retrying in AsyncRetrying(
            stop=stop_after_delay(policy.lease.total_seconds()), wait=wait_exponential(0.2, max=5), reraise=True
        ):
            with retrying:
                result = await _apply_changes(sessions, tenant_id, holder, read)
    except Exception:  # the database stayed away for the whole lease: the next round reads the same changes again
        log.exception("could not apply the erp poll of tenant %s; the next round reads it again", tenant_id)
        return PollResult(discarded=True)
    if result.retried:
        log.info("the ERP of tenant %s answers again: %d waiting messages are due now", tenant_id, result.retried)
    return result


async def _connection(sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID) -> ErpConnection | None:
    """The tenant's connection, read in a session closed again before the ERP is asked anything."""
    async with sessions() as session:
        return await erp_sync.connection_of(session, tenant_id)


async def sync_products(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    *,
    ports: PortFactory = adapter_for,
    policy: RetryPolicy | None = None,
) -> int:
    """Pull the ERP's catalogue into the tenant's products; how many changed (no transaction open meanwhile).

    Raises ErpNotConnected without a connection, ErpUnavailable when the ERP does not answer in time.
    """
    policy = policy or RetryPolicy()
    connection = await _connection(sessions, tenant_id)
    if connection is None:
        raise ErpNotConnected("No ERP connection is configured for this tenant.")
    port = ports(connection)
    try:
        async with asyncio.timeout(policy.call_timeout_seconds):
            products = await port.products()
    except TimeoutError:
        raise ErpUnavailable(f"The ERP did not answer within {policy.call_timeout_seconds:g} s.") from None
    finally:
        await port.close()
    entries = [CatalogEntry(p.code, p.name, p.list_price, p.currency, p.active, p.erp_id) for p in products]
    async with transaction(sessions) as session:
        changed = await upsert_products(session, tenant_id, entries)
        synced = await session.get(ErpConnection, tenant_id, with_for_update=True)
        if synced is not None:
            synced.products_synced_at = utcnow()
        return changed


CREDIT_CHECK_SECONDS = _required("CRM_ERP_CREDIT_CHECK_SECONDS", 5)


async def refresh_credit(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    reference: str,
    *,
    ports: PortFactory = adapter_for,
    wait_seconds: float | None = None,
) -> tuple[Decimal | None, Decimal] | None:
    """Ask the ERP for a party's credit and keep it; None when there is no connection or the ERP is down.

    A person placing an order waits on this, so the ERP gets `wait_seconds` (CRM_ERP_CREDIT_CHECK_SECONDS)
    before the last known standing is used, and no transaction is open meanwhile.
    """
    wait_seconds = wait_seconds or CREDIT_CHECK_SECONDS
    connection = await _connection(sessions, tenant_id)
    if connection is None:
        return None
    port = ports(connection)
    try:
        async with asyncio.timeout(wait_seconds):
            limit, owed = await port.credit_limit(reference)
    except (ErpError, TimeoutError) as exc:
        reason = exc if isinstance(exc, ErpError) else f"no answer within {wait_seconds:g} s"
        log.info("credit check for %s fell back to the last known standing: %s", reference, reason)
        return None
    finally:
        await port.close()
    async with transaction(sessions) as session:
        await record_credit(session, tenant_id, reference, limit, owed)
    return limit, owed


async def products_due(sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, every: timedelta) -> bool:
    connection = await _connection(sessions, tenant_id)
    if connection is None:
        return False
    return connection.products_synced_at is None or connection.products_synced_at < utcnow() - every


async def tenants_with_erp(sessions: async_sessionmaker[AsyncSession]) -> list[uuid.UUID]:
    async with sessions() as session:
        return await erp_sync.connected_tenants(session)
