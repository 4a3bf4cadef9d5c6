"""Idempotency keys: a create retried with the same key gives back what the first one made, once.

A client that lost the answer to a create (a dropped connection, a killed server) cannot know whether it
happened; it sends the request again with the same key. The key is kept per tenant, actor and operation,
with a fingerprint of the request and the id of what was made, in the create's own transaction: so a create
that failed or was rolled back left no key, and may be retried as it is. Stripe's API is the model: the same
key with the same request replays the first result; with a different request it is refused. Keys live 24
hours. Two requests with one key at the same moment meet at the key's unique index: the second waits for the
first to commit and then replays it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, ForeignKeyConstraint, Index, String, Uuid, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Actor, ActorKind
from domain.shared.base import Base, TenantScoped, new_id, utcnow
from domain.shared.errors import Conflict, ErrorCode, FieldError, ValidationFailed
from domain.shared.text import unstorable_reason

KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255
FIELD = "idempotencyKey"


class IdempotencyKey(TenantScoped, Base):
    """One actor's key for one operation: the request it came with and the record it made."""

    __tablename__ = "idempotency_key"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        Index("uq_idempotency_key", "tenant_id", "actor", "operation", "key", unique=True),
        Index("ix_idempotency_key_expires", "expires_at"),
    )

    actor: Mapped[str] = mapped_column(String(120))  # "user:<id>" or "client:<client id>"
    operation: Mapped[str] = mapped_column(String(100))  # e.g. "createOpportunity"
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the request, key left out
    record_type: Mapped[str | None] = mapped_column(String(60), nullable=True)
    record_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Claim:
    """A key held for this request: `replay_id` is the record an earlier request with it made, else None."""

    key_row_id: uuid.UUID
    replay_id: uuid.UUID | None


def checked_key(key: str) -> str:
    """The key as given, or ValidationFailed naming idempotencyKey (empty, too long, or unstorable)."""
    problem: tuple[ErrorCode, str] | None = None
    if not key.strip():
        problem = ErrorCode.REQUIRED, f"{FIELD} must not be blank; leave it out to create without one."
    elif len(key) > MAX_KEY_LENGTH:
        problem = ErrorCode.TOO_LONG, f"{FIELD} must be at most {MAX_KEY_LENGTH} characters (a UUID is a good key)."
    elif (reason := unstorable_reason(key)) is not None:
        problem = ErrorCode.INVALID, f"{FIELD} {reason}."
    if problem is not None:
        raise ValidationFailed([FieldError(FIELD, *problem)])
    return key


def fingerprint(request: Mapping[str, Any]) -> str:
    """SHA-256 of a JSON-like request, the same whatever the order of its keys."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def actor_key(actor: Actor) -> str:
    """Whose keys these are: a person's, or a machine client's."""
    if actor.kind is ActorKind.MACHINE:
        return f"client:{actor.client_id}"
    return f"user:{actor.user_id}"


async def claim(
    session: AsyncSession, actor: Actor, operation: str, key: str, request_hash: str, *, now: datetime | None = None
) -> Claim:
    """Hold the key for this request in the caller's transaction, or find what an earlier request with it made.

    A live key held by a transaction not yet finished makes this wait for it: its commit means a replay, its
    rollback hands the key to this request. A key used with a different request is a Conflict on idempotencyKey.
    """
    now = now or utcnow()
    who = actor_key(actor)
    fresh = {
        "request_hash": request_hash,
        "record_type": None,
        "record_id": None,
        "created_at": now,
        "expires_at": now + KEY_LIFETIME,
    }
    statement = (
        insert(IdempotencyKey)
        .values(tenant_id=actor.tenant_id, id=new_id(), actor=who, operation=operation, key=key, **fresh)
        .on_conflict_do_update(
            index_elements=["tenant_id", "actor", "operation", "key"],
            set_=fresh,
            where=IdempotencyKey.expires_at <= now,  # an expired key is free again
        )
        .returning(IdempotencyKey.id)
    )
    held = (await session.execute(statement)).scalar_one_or_none()
    if held is not None:
        return Claim(held, None)
    earlier = (
        await session.execute(
            select(IdempotencyKey).where(
                IdempotencyKey.tenant_id == actor.tenant_id,
                IdempotencyKey.actor == who,
                IdempotencyKey.operation == operation,
                IdempotencyKey.key == key,
            )
        )
    ).scalar_one()
    if earlier.request_hash != request_hash:
        raise Conflict(
            f"This {FIELD} was used for a different {operation} request in the last 24 hours; nothing was created. "
            "Send the same request to get its result again, or use a new key for a new request.",
            field=FIELD,
        )
    if earlier.record_id is None:  # a key is stored only with what it made; kept as a guard
        raise Conflict(f"The first {operation} request with this {FIELD} made nothing to replay.", field=FIELD)
    return Claim(earlier.id, earlier.record_id)


async def remember(session: AsyncSession, actor: Actor, held: Claim, record_type: str, record_id: uuid.UUID) -> None:
    """Store what the request holding the key made, in the same transaction as making it."""
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.tenant_id == actor.tenant_id, IdempotencyKey.id == held.key_row_id)
        .values(record_type=record_type, record_id=record_id)
    )


async def purge_expired(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete every tenant's expired keys (the scheduled job); they would be replaced on their next use anyway."""
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or utcnow())))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
