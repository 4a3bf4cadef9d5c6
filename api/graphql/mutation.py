"""The one way a mutation runs: a unit of work, typed errors, fresh loaders and a re-read through visibility.

Every mutation resolver parses its input and hands one change to `mutate`:

- the change runs in a unit of work of its own (one transaction; any failure rolls all of it back);
- an expected domain failure becomes the payload's `errors`, with the concept's specific code; a concurrent
  write to a versioned record becomes CONFLICT;
- when the change returns a record of a Node type (`node="Opportunity"`), the request's loaders forget it and
  the payload gets it re-read through the caller's visibility: None when the change moved it out of their
  sight (a hand-over, a lead routed to another partner), as any other read would answer;
- with an `idempotency_key`, a retry of a create with the same key and input answers with the first record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from strawberry.types import Info

from api.graphql.errors import UserError, user_errors
from api.graphql.idempotency import request_values
from api.graphql.resolving import ctx
from domain.access.unit_of_work import UnitOfWork
from domain.shared import idempotency
from domain.shared.errors import DomainError
from services.unit_of_work import unit_of_work

P = TypeVar("P")


async def mutate(
    info: Info,
    change: Callable[[UnitOfWork], Awaitable[Any]],
    *,
    payload: Callable[[Any], P],
    failed: Callable[[list[UserError]], P],
    node: str | None = None,
    idempotency_key: str | None = None,
    request: Any = None,
) -> P:
    """Run `change` in its own unit of work and answer `payload(result)` or `failed(errors)`.

    `node` names the Node type of the record the change returns; the payload then gets that record as the
    caller may now see it. `idempotency_key` and `request` (the mutation's input) make a create safe to retry.
    """
    context = ctx(info)
    if idempotency_key is not None and node is None:
        raise TypeError("an idempotent create must name the node type it creates")
    try:
        async with unit_of_work(context.sessions, context.access) as uow:
            if idempotency_key is None:
                result = await change(uow)
                record_id = getattr(result, "id", None) if node else None
            else:
                operation = info.field_name
                digest = idempotency.fingerprint({"input": request_values(request)})
                key = idempotency.checked_key(idempotency_key)
                held = await idempotency.claim(uow.session, context.actor, operation, key, digest)
                if held.replay_id is not None:
                    record_id = held.replay_id
                else:
                    record_id = (await change(uow)).id
                    await idempotency.remember(uow.session, context.actor, held, node, record_id)  # type: ignore[arg-type]
    except DomainError as exc:
        return failed(user_errors(exc.errors))
    if node is None:
        return payload(result)
    if record_id is None:
        return payload(None)
    loader = context.loaders.by_type[node]
    if loader.cache_map.get(record_id) is not None:  # strawberry's clear raises KeyError for a key never loaded
        loader.clear(record_id)
    return payload(await loader.load(record_id))
