"""The marker for a field an update command leaves as it is."""

from __future__ import annotations

from enum import Enum
from typing import Final, Literal, TypeVar

T = TypeVar("T")


class _Unset(Enum):
    UNSET = "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset.UNSET
Unset = Literal[_Unset.UNSET]
Patch = T | Unset  # type: ignore[valid-type]


def is_set(value: object) -> bool:
    return value is not UNSET
