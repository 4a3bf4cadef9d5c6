"""The service's token signing keys: made on first use, kept in the database, cached per process."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import ECKey, KeySet

from services.identity import signing_keys
from services.unit_of_work import Sessions

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


# Each engine's database, as the rings are keyed (engines of one database share its ring): worked out once.
_databases: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _cache_key(sessions: Sessions) -> str:
    bind = sessions.kw["bind"]
    found = _databases.get(bind)
    if found is None:
        found = _databases[bind] = str(bind.url.render_as_string(hide_password=True))
    return found


async def key_ring(sessions: Sessions) -> KeyRing:
    """The key ring of the database behind `sessions`, creating the first key if there is none."""
    cache_key = _cache_key(sessions)
    if cache_key in _rings:
        return _rings[cache_key]
    async with _lock:
        if cache_key not in _rings:
            _rings[cache_key] = await _load_or_create(sessions)
    return _rings[cache_key]


def _new_key() -> tuple[str, dict[str, str]]:
    key = ECKey.generate_key("P-256", private=True, auto_kid=True)
    # A generated EC key's members (kty, crv, x, y, d and the kid auto_kid set) are all strings.
    jwk = {name: value for name, value in key.as_dict(private=True).items() if isinstance(value, str)}
    return jwk["kid"], jwk


async def _load_or_create(sessions: Sessions) -> KeyRing:
    # The copies ({**jwk}, [*keys]) only widen the types to joserfc's parameters: dicts and lists are invariant.
    keys = [ECKey.import_key({**jwk}) for jwk in await signing_keys(sessions, _new_key)]
    return KeyRing(signing=keys[0], verifying=KeySet([*keys]))


def forget_cached_keys() -> None:
    """Drop cached key rings (tests that rotate keys)."""
    _rings.clear()
