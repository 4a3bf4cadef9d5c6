"""The marker for a field an update command leaves as it is."""

from __future__ import annotations

from enum import Enum
from typing import Final, Literal, TypeAlias, TypeGuard, TypeVar

T = TypeVar("T")


class _Unset(Enum):
    UNSET = "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset.UNSET
Unset = Literal[_Unset.UNSET]
Patch: TypeAlias = T | Unset


def is_set(value: Patch[T]) -> TypeGuard[T]:
    """Whether the command sets this field (to a value, which may be None)."""
    return value is not UNSET
