"""Usage budgets: token buckets of query-cost points per user, machine client and tenant, kept in PostgreSQL.

A bucket holds up to `capacity` points and regains `refill_per_second` points every second; a request is let
through when every bucket it draws on holds at least its cost, and then takes that cost from each. The state
lives in one table so every worker process of the service sees the same buckets, and one request's charge is
one statement (an `INSERT … ON CONFLICT DO UPDATE … RETURNING` over its two rows at most).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import asyncpg
from sqlalchemy import (
    ARRAY,
    DateTime,
    Double,
    ForeignKeyConstraint,
    Integer,
    String,
    Table,
    Uuid,
    bindparam,
    case,
    column,
    extract,
    func,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.shared.base import Base, utcnow
from domain.shared.prepared import driver_connection, fetch, prepare

TENANT_SUBJECT = "tenant"


def user_subject(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


def client_subject(client_id: str) -> str:
    return f"client:{client_id}"


class UsageBucket(Base):
    """One budget's bucket: the points it holds now (as of `updated_at`) and how it refills."""

    __tablename__ = "usage_bucket"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # Whose budget: "tenant", "user:<uuid>" or "client:<client id>".
    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    # Points held at `updated_at`; slightly below zero only after concurrent requests raced for the last points.
    level: Mapped[float] = mapped_column(Double)
    capacity: Mapped[float] = mapped_column(Double)
    refill_per_second: Mapped[float] = mapped_column(Double)
    # What the last request took (0 when it was refused).
    last_cost: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@dataclass(frozen=True)
class Budget:
    """A budget a request draws on: whose it is, how many points it holds at most and how fast it refills."""

    subject: str
    capacity: int
    refill_per_second: float


@dataclass(frozen=True)
class BucketLevel:
    """A bucket right after a request's charge."""

    subject: str
    level: float
    capacity: float
    refill_per_second: float

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.level))

    def seconds_until(self, points: float) -> int:
        """Whole seconds until the bucket holds `points` again (0 when it does now)."""
        missing = min(points, self.capacity) - self.level
        return 0 if missing <= 0 else math.ceil(missing / self.refill_per_second)

    @property
    def seconds_until_full(self) -> int:
        return self.seconds_until(self.capacity)


@dataclass(frozen=True)
class Charge:
    """The outcome of charging one request: let through or not, and every bucket it drew on."""

    cost: int
    allowed: bool
    buckets: tuple[BucketLevel, ...]
    at: datetime

    @property
    def binding(self) -> BucketLevel:
        """The bucket that runs out first: the fewest points left, then the slowest to refill."""
        return min(self.buckets, key=lambda b: (b.remaining, -b.seconds_until_full))

    @property
    def retry_after(self) -> int:
        """Seconds until every bucket again holds the refused cost (0 when the request was let through)."""
        if self.allowed:
            return 0
        return max(1, *(b.seconds_until(self.cost) for b in self.buckets))

    @property
    def resets_at(self) -> datetime:
        """When the binding bucket is full again."""
        return self.at + timedelta(seconds=self.binding.seconds_until_full)


def charge_statement(*, durable: bool, gate: Any = None) -> Any:
    """The one statement of a charge, built once; its parameters are the budgets, the tenant and the cost.

    Not `durable`, the statement turns `synchronous_commit` off for its own transaction (`set_config(…, true)`,
    which ends with it): its commit then releases the budgets' rows without waiting for the WAL to reach the
    disk. Every request of a tenant charges the tenant's row, so each charge waited for the one before it to be
    flushed, and the tenant's requests all queued behind one another's flushes (`Lock: transactionid` and
    `IO: WALSync` in pg_stat_activity, in every process of the service). A crash can then lose the last fraction
    of a second of charges (PostgreSQL's WAL writer flushes them within three `wal_writer_delay`s): a few points
    given back to budgets, never a charge taken twice or a row left inconsistent; and a charge is still taken,
    and a spent budget still refuses, before the operation runs.
    """
    now = func.now()
    cost = bindparam("cost", type_=Integer)
    tenant_id = bindparam("tenant_id", type_=Uuid)
    subjects = bindparam("subjects", type_=ARRAY(String))
    wanted = (
        func.unnest(
            subjects,
            bindparam("capacities", type_=ARRAY(Double)),
            bindparam("refills", type_=ARRAY(Double)),
        )
        .table_valued(column("subject", String), column("capacity", Double), column("refill", Double))
        .render_derived(name="wanted")
    )
    # The budgets' rows, locked: a concurrent charge of the same budget waits, and this one then reads the level
    # that charge left (a locking read sees the newest row). Locked in one order, so two charges cannot deadlock.
    held = (
        select(UsageBucket.subject, UsageBucket.level, UsageBucket.updated_at)
        .where(UsageBucket.tenant_id == tenant_id, UsageBucket.subject == func.any(subjects))
        .order_by(UsageBucket.subject)
        .with_for_update()
        .cte("held")
    )
    seconds_since = func.greatest(0.0, extract("epoch", now - held.c.updated_at))
    # Each budget as it stands now, refilled since its last charge; a budget never charged before is full.
    level_now = func.coalesce(
        func.least(wanted.c.capacity, held.c.level + wanted.c.refill * seconds_since), wanted.c.capacity
    )
    joined: Any = wanted.outerjoin(held, held.c.subject == wanted.c.subject)
    if not durable:
        # Evaluated once (a CTE with a volatile function is materialised), before any row is written.
        commit_mode = select(func.set_config("synchronous_commit", "off", True).label("synchronous_commit")).cte(
            "commit_mode"
        )
        joined = joined.join(commit_mode, true())
    filled = (
        select(wanted.c.subject, wanted.c.capacity, wanted.c.refill, level_now.label("level"))
        .select_from(joined)
        .cte("filled")
    )
    affordable = select(func.bool_and(filled.c.level >= cost)).scalar_subquery()
    taken = case((affordable, cost), else_=0)
    # The table, not the mapped class: given parameters, an ORM insert would take them for rows to insert.
    table = cast(Table, UsageBucket.__table__)
    rows = select(
        tenant_id, filled.c.subject, filled.c.capacity, filled.c.refill, filled.c.level - taken, taken, now
    ).order_by(filled.c.subject)  # rows are locked as they are written: in the same order as above
    if gate is not None:
        rows = rows.where(gate)  # a charge taken only if (the sign-in check's row exists: domain/access/principals)
    statement = insert(table).from_select(
        ["tenant_id", "subject", "capacity", "refill_per_second", "level", "last_cost", "updated_at"], rows
    )
    existing = table.c
    refilled = func.least(
        statement.excluded.capacity,
        existing.level
        + statement.excluded.refill_per_second
        * func.greatest(0.0, extract("epoch", statement.excluded.updated_at - existing.updated_at)),
    )
    return statement.on_conflict_do_update(
        index_elements=["tenant_id", "subject"],
        set_={
            "level": refilled - statement.excluded.last_cost,
            "capacity": statement.excluded.capacity,
            "refill_per_second": statement.excluded.refill_per_second,
            "last_cost": statement.excluded.last_cost,
            "updated_at": func.greatest(existing.updated_at, statement.excluded.updated_at),
        },
    ).returning(
        existing.subject,
        existing.level,
        existing.capacity,
        existing.refill_per_second,
        existing.last_cost,
        existing.updated_at,
    )


# A charge alone in its transaction (autocommit, as every request's is) and one inside a caller's transaction,
# whose commit must stay as durable as the rest of that transaction's work.
CHARGE = prepare(charge_statement(durable=False))
DURABLE_CHARGE = prepare(charge_statement(durable=True))
DEADLOCK_DETECTED = "40P01"
DEADLOCK_ATTEMPTS = 3


async def charge(session: AsyncSession | Any, tenant_id: uuid.UUID, budgets: Sequence[Budget], cost: int) -> Charge:
    """Take `cost` points from every budget if each holds that many, else from none; one statement, committed.

    The statement is atomic, so a session in autocommit runs it alone, with no BEGIN or COMMIT (the commit below
    then sends nothing); in a session's transaction it is committed at once. `session` may also be a bare asyncpg
    connection outside any transaction (a request's own, infrastructure/request_connection.py).

    Charges of one budget are serialised by its row's lock, so racing requests cannot both take its last points.
    A charge alone in its transaction commits without waiting for the WAL flush (`charge_statement`), so the
    lock is held for the statement alone and not across the flush.
    Only the very first charges of a budget, racing to create its row, may both pass on a full bucket; the
    arithmetic still counts both, so the budget then runs below zero and its next requests wait the longer.
    """
    if not budgets:
        raise ValueError("A charge needs at least one budget.")
    in_session = isinstance(session, AsyncSession)
    parameters = charge_parameters(tenant_id, budgets, cost)
    driver: Any = await driver_connection(session) if in_session else session
    # Inside a transaction already begun, the charge commits with it, as durably as the rest of its work.
    statement = DURABLE_CHARGE if driver.is_in_transaction() else CHARGE
    for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
        try:
            rows = await fetch(driver, statement, parameters)
            if in_session:
                await session.commit()
            break
        except (DBAPIError, asyncpg.PostgresError) as exc:
            # Rows are always locked in one order, but budgets being created concurrently can still meet in a
            # deadlock; PostgreSQL then aborts one charge, which may simply run again.
            if in_session:
                await session.rollback()
            state = getattr(getattr(exc, "orig", exc), "sqlstate", None)
            if state != DEADLOCK_DETECTED or attempt == DEADLOCK_ATTEMPTS:
                raise
    return charge_of(budgets, cost, rows)


def charge_parameters(tenant_id: uuid.UUID, budgets: Sequence[Budget], cost: int) -> dict[str, Any]:
    """The parameters of a charge's statement (the budgets in the order their rows are locked)."""
    ordered = sorted(budgets, key=lambda b: b.subject)
    return {
        "tenant_id": tenant_id,
        "cost": cost,
        "subjects": [b.subject for b in ordered],
        "capacities": [float(b.capacity) for b in ordered],
        "refills": [float(b.refill_per_second) for b in ordered],
    }


def charge_of(budgets: Sequence[Budget], cost: int, rows: Sequence[Any]) -> Charge:
    """The charge a statement's rows (one per budget: subject, level, capacity, refill_per_second, last_cost,
    updated_at) describe."""
    by_subject = {row["subject"]: row for row in rows}
    buckets = tuple(
        BucketLevel(
            b.subject,
            by_subject[b.subject]["level"],
            by_subject[b.subject]["capacity"],
            by_subject[b.subject]["refill_per_second"],
        )
        for b in budgets
    )
    at = max((row["updated_at"] for row in rows), default=utcnow())
    allowed = all(by_subject[b.subject]["last_cost"] == cost for b in budgets)
    return Charge(cost=cost, allowed=allowed, buckets=buckets, at=at)
