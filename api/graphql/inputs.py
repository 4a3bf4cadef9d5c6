"""Turning GraphQL input values into domain command values."""

from __future__ import annotations

from typing import Any

import strawberry

from domain.shared.commands import UNSET


def patch(value: Any) -> Any:
    """An input field the client left out becomes the domain's UNSET; null stays None."""
    return UNSET if value is strawberry.UNSET else value
