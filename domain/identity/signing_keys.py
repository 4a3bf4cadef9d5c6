"""The service's token signing keys: the deployment's, not a tenant's, kept in the database and made on first use."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import DateTime, String, func, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.shared.base import Base

# A new key: its id and its private JSON Web Key.
NewKey = Callable[[], tuple[str, dict[str, str]]]


class SigningKey(Base):
    """A private key the service signs tokens with; the deployment's, not a tenant's."""

    __tablename__ = "signing_key"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_jwk: Mapped[dict[str, str]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


async def live_signing_keys(session: AsyncSession, new_key: NewKey) -> list[dict[str, str]]:
    """The private keys not retired, newest first (it signs), making one with `new_key` when there is none.

    Several workers may start at once: one makes the key while the others wait on a lock, then read it.
    """
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('crm.signing_key'))"))
    live = select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.created_at.desc())
    rows = (await session.execute(live)).scalars().all()
    if not rows:
        kid, private_jwk = new_key()
        await session.execute(insert(SigningKey).values(kid=kid, private_jwk=private_jwk).on_conflict_do_nothing())
        rows = (await session.execute(select(SigningKey).where(SigningKey.kid == kid))).scalars().all()
    return [dict(row.private_jwk) for row in rows]
