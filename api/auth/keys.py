"""The service's token signing keys: made on first use, kept in the database, cached per process."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from joserfc.jwk import ECKey, KeySet
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.identity.credentials import SigningKey

ALGORITHM = "ES256"


@dataclass(frozen=True)
class KeyRing:
    """The key new tokens are signed with, and every key a token may still be verified with."""

    signing: ECKey
    verifying: KeySet

    def public_jwks(self) -> dict[str, object]:
        return dict(self.verifying.as_dict(private=False))


_rings: dict[str, KeyRing] = {}
_lock = asyncio.Lock()


def _cache_key(sessions: async_sessionmaker[AsyncSession]) -> str:
    bind = sessions.kw["bind"]
    return bind.url.render_as_string(hide_password=True)


async def key_ring(sessions: async_sessionmaker[AsyncSession]) -> KeyRing:
    """The key ring of the database behind `sessions`, creating the first key if there is none."""
    cache_key = _cache_key(sessions)
    if cache_key in _rings:
        return _rings[cache_key]
    async with _lock:
        if cache_key not in _rings:
            _rings[cache_key] = await _load_or_create(sessions)
    return _rings[cache_key]


async def _load_or_create(sessions: async_sessionmaker[AsyncSession]) -> KeyRing:
    async with sessions() as session, session.begin():
        # Several workers may start at once: one creates the key, the others wait and read it.
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('crm.signing_key'))"))
        rows = (
            (
                await session.execute(
                    select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.created_at.desc())
                )
            )
            .scalars()
            .all()
        )
        if not rows:
            key = ECKey.generate_key("P-256", private=True, auto_kid=True)
            await session.execute(
                insert(SigningKey).values(kid=key.kid, private_jwk=key.as_dict(private=True)).on_conflict_do_nothing()
            )
            rows = (await session.execute(select(SigningKey).where(SigningKey.kid == key.kid))).scalars().all()
    keys = [ECKey.import_key(dict(r.private_jwk)) for r in rows]
    return KeyRing(signing=keys[0], verifying=KeySet(keys))


def forget_cached_keys() -> None:
    """Drop cached key rings (tests that rotate keys)."""
    _rings.clear()
