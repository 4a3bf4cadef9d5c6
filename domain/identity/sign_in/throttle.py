"""Throttling failed sign-ins per account and per client address, in PostgreSQL so every worker sees the same count."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.identity.sign_in.models import SignInThrottle
from domain.shared.base import utcnow
from domain.shared.errors import RateLimited


@dataclass(frozen=True)
class ThrottleRule:
    """`failures` within `window` lock the key for `first_lock`, doubled at each further lock up to `longest_lock`."""

    failures: int
    window: timedelta
    first_lock: timedelta
    longest_lock: timedelta

    def lock_for(self, lockouts: int) -> timedelta:
        return min(self.first_lock * (2 ** max(lockouts - 1, 0)), self.longest_lock)


ACCOUNT_RULE = ThrottleRule(5, timedelta(minutes=15), timedelta(minutes=1), timedelta(hours=1))
# One office behind one address may hold many people: a looser limit, but the same growth.
ADDRESS_RULE = ThrottleRule(30, timedelta(minutes=15), timedelta(minutes=1), timedelta(hours=1))


LOCK_MEMORY = timedelta(days=1)


def account_key(tenant_id: uuid.UUID, email: str) -> str:
    # The key column holds 200 characters; addresses sharing their first 150 share a count, which is harmless.
    return f"account:{tenant_id}:{email.strip().lower()[:150]}"


def address_key(address: str | None) -> str:
    return f"address:{address or 'unknown'}"


def _retry_after(locked_until: datetime, now: datetime) -> int:
    return max(1, math.ceil((locked_until - now).total_seconds()))


async def refuse_if_locked(session: AsyncSession, keys: list[str]) -> None:
    """Raise RateLimited, with the seconds to wait, when any of the keys is locked now."""
    now = utcnow()
    locked = (
        await session.execute(
            select(SignInThrottle.locked_until).where(SignInThrottle.key.in_(keys), SignInThrottle.locked_until > now)
        )
    ).scalars()
    until = max((at for at in locked if at is not None), default=None)  # the column is nullable, the rows are not
    if until is not None:
        raise RateLimited("Too many failed sign-in attempts; try again later.", retry_after=_retry_after(until, now))


async def record_failure(session: AsyncSession, key: str, rule: ThrottleRule) -> int | None:
    """Count one failure for the key; returns the seconds it is now locked for, or None when it is not locked."""
    now = utcnow()
    await session.execute(
        insert(SignInThrottle)
        .values(key=key, failures=0, window_started_at=now, lockouts=0)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = (
        await session.execute(select(SignInThrottle).where(SignInThrottle.key == key).with_for_update())
    ).scalar_one()
    if row.window_started_at + rule.window <= now:
        row.failures, row.window_started_at = 0, now
    if row.locked_until is not None and row.locked_until + LOCK_MEMORY <= now:
        row.lockouts = 0  # a day of good behaviour: the next lock is short again
    row.failures += 1
    if row.failures < rule.failures:
        await session.flush()
        return None
    row.lockouts += 1
    row.failures = 0
    row.window_started_at = now
    row.locked_until = now + rule.lock_for(row.lockouts)
    await session.flush()
    return _retry_after(row.locked_until, now)


async def clear(session: AsyncSession, key: str) -> None:
    """Forget an account's failures after it signed in (its lock history stays, so repeat offenders lock longer)."""
    await session.execute(
        update(SignInThrottle).where(SignInThrottle.key == key, SignInThrottle.failures > 0).values(failures=0)
    )
