"""How failures reach clients: payload errors for what they can fix, GraphQL errors for access."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from sqlalchemy.orm.exc import StaleDataError

from api.graphql.descriptions import describe_values
from domain.shared.errors import DomainError, ErrorCode, FieldError

log = logging.getLogger("crm.graphql")

ErrorCodeType = strawberry.enum(ErrorCode, name="ErrorCode", description="Machine-readable error codes.")
describe_values(
    ErrorCodeType,
    {
        "NOT_FOUND": "No such record, or one the viewer may not see (the two look the same).",
        "INVALID": "The value is malformed or breaks a rule.",
        "REQUIRED": "A value is needed here.",
        "TOO_LONG": "The text is too long.",
        "OUT_OF_RANGE": "The number or date is outside the allowed range.",
        "DUPLICATE": "Such a record exists already.",
        "FORBIDDEN": "The viewer's role may not do this (or see this field).",
        "CONFLICT": "The record's current state does not allow this change.",
        "UNAUTHENTICATED": "No valid sign-in.",
        "RATE_LIMITED": "Too many attempts; wait and try again.",
    },
)


@strawberry.type(description="A problem with a mutation's input or with the record it targets; nothing was changed.")
class UserError:
    field: str | None = strawberry.field(description="The input field at fault (camelCase), if one is.")
    code: ErrorCodeType = strawberry.field(description="What kind of problem it is.")  # type: ignore[valid-type]
    message: str = strawberry.field(description="A sentence for the person at the keyboard.")


def user_errors(errors: list[FieldError]) -> list[UserError]:
    return [UserError(field=e.field, code=e.code, message=e.message) for e in errors]


class AccessDenied(GraphQLError):
    """An authorization failure reported as a GraphQL error with `extensions.code` FORBIDDEN."""

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": ErrorCode.FORBIDDEN.value})


class BadInput(GraphQLError):
    """A bad argument to a query (not a mutation), reported with `extensions.code` and the argument."""

    def __init__(self, error: DomainError) -> None:
        first = error.errors[0]
        super().__init__(first.message, extensions={"code": first.code.value, "field": first.field})


P = TypeVar("P")


# A versioned record's UPDATE found another version than the one it loaded: a concurrent write won the race.
CONCURRENT_CHANGE = (
    "The record was changed by someone else while this change was being saved; nothing was saved. "
    "Read it again and make your change on the current version."
)


async def run_mutation(perform: Callable[[], Awaitable[P]], failed: Callable[[list[UserError]], P]) -> P:
    """Run a mutation's use case; expected domain failures become payload errors (its transaction rolled back)."""
    try:
        return await perform()
    except DomainError as exc:
        return failed(user_errors(exc.errors))
    except StaleDataError:
        log.info("a concurrent change to a versioned record refused a mutation", exc_info=True)
        return failed([UserError(field=None, code=ErrorCode.CONFLICT, message=CONCURRENT_CHANGE)])


def as_graphql_error(exc: DomainError) -> GraphQLError:
    """A domain failure in a query, as a GraphQL error carrying its code."""
    return AccessDenied(exc.message) if exc.code is ErrorCode.FORBIDDEN else BadInput(exc)


async def run_query(perform: Callable[[], Awaitable[Any]]) -> Any:
    """Run a query's domain call; domain failures become GraphQL errors with a code."""
    try:
        return await perform()
    except DomainError as exc:
        raise as_graphql_error(exc) from exc


def is_expected(error: GraphQLError) -> bool:
    """Errors shown to clients as they are: ours, and GraphQL's own parse/validation errors."""
    original = error.original_error
    if original is None:
        return True  # parse and validation errors, produced by graphql-core itself
    return isinstance(original, (AccessDenied, BadInput, GraphQLError))


def query_value(compute: Callable[[], P]) -> P:
    """Parse a query argument or build a query; a domain failure becomes a GraphQL error naming the argument."""
    try:
        return compute()
    except DomainError as exc:
        raise as_graphql_error(exc) from exc
