"""A GraphQL field whose database is away or too slow fails with SERVICE_UNAVAILABLE, not "Unexpected error."."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from inspect import isawaitable
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo
from strawberry.extensions import SchemaExtension

from api.resilience import MESSAGES, RETRY_AFTER_SECONDS, SERVICE_UNAVAILABLE, mark_database_trouble
from infrastructure.db import DatabaseTrouble, database_trouble


class ServiceUnavailable(GraphQLError):
    """A field that could not be answered because the database is away or did not finish in time."""

    def __init__(self, trouble: DatabaseTrouble) -> None:
        super().__init__(MESSAGES[trouble], extensions={"code": SERVICE_UNAVAILABLE, "retryAfter": RETRY_AFTER_SECONDS})


class DatabaseUnavailableErrors(SchemaExtension):
    """Turn a field's database failure into a ServiceUnavailable error and mark the request for a 503 answer.

    It wraps resolvers rather than rewriting errors afterwards because Strawberry logs a request's errors (with
    their tracebacks) before any extension sees the result; a database outage is logged once, by the guard.
    """

    def resolve(self, _next: Callable[..., Any], root: Any, info: GraphQLResolveInfo, *args: Any, **kwargs: Any) -> Any:
        result = _next(root, info, *args, **kwargs)
        if isawaitable(result):
            return self._answered(result, info)
        return result  # fields that do not await hold no database work

    async def _answered(self, pending: Awaitable[Any], info: GraphQLResolveInfo) -> Any:
        try:
            return await pending
        except GraphQLError:
            raise
        except Exception as exc:
            trouble = database_trouble(exc)
            if trouble is None:
                raise
            request = getattr(info.context, "request", None)
            if request is not None:
                mark_database_trouble(request.scope, trouble, exc)
            raise ServiceUnavailable(trouble) from exc
