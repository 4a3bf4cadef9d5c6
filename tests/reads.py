"""A test's own reads of protected rows (arranging a case or checking its outcome), outside the product's door.

The product reads protected rows only through a unit of work; a test that looks at the database directly says
so with these, so the door's guard (which refuses every other unmarked read) lets it through.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.unit_of_work import DOOR

M = TypeVar("M")


def read_for_test(statement: Any) -> Any:
    """The statement, marked as a test's own read."""
    return statement.execution_options(**{DOOR: "test"})


async def get_for_test(session: AsyncSession, model: type[M], key: Any) -> M | None:
    """`session.get`, as a test's own read."""
    return await session.get(model, key, execution_options={DOOR: "test"})
