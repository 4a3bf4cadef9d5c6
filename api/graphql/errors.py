"""How failures reach clients: payload errors for what they can fix, GraphQL errors for access."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any, TypeAlias, TypeVar

import strawberry
from graphql import GraphQLError

from api.graphql.descriptions import describe_values
from domain.channel import codes as channel_codes
from domain.channel.codes import ChannelCode
from domain.commerce import codes as commerce_codes
from domain.commerce.codes import CommerceCode
from domain.erp import codes as erp_codes
from domain.erp.codes import ErpCode
from domain.identity import codes as identity_codes
from domain.identity.codes import IdentityCode
from domain.preferences import codes as preferences_codes
from domain.preferences.codes import PreferencesCode
from domain.selling import codes as selling_codes
from domain.selling.codes import SellingCode
from domain.shared.errors import Code, ConceptCode, DomainError, ErrorCode, FieldError

GENERAL_DESCRIPTIONS = {
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
}
# Each concept's own codes, in the order the schema lists them after the general ones.
CONCEPT_CODES: tuple[tuple[type[ConceptCode], Mapping[Any, str]], ...] = (
    (SellingCode, selling_codes.DESCRIPTIONS),
    (ChannelCode, channel_codes.DESCRIPTIONS),
    (CommerceCode, commerce_codes.DESCRIPTIONS),
    (ErpCode, erp_codes.DESCRIPTIONS),
    (IdentityCode, identity_codes.DESCRIPTIONS),
    (PreferencesCode, preferences_codes.DESCRIPTIONS),
)
AnyErrorCode = StrEnum(  # type: ignore[misc]
    "AnyErrorCode",
    [(c.name, c.value) for c in ErrorCode] + [(c.name, c.value) for codes, _ in CONCEPT_CODES for c in codes],
)
ErrorCodeType: TypeAlias = AnyErrorCode
strawberry.enum(
    ErrorCodeType,
    name="ErrorCode",
    description="Machine-readable error codes: general ones first, then each business concept's specific ones.",
)
describe_values(
    ErrorCodeType,
    {**GENERAL_DESCRIPTIONS, **{str(c.value): text for _, texts in CONCEPT_CODES for c, text in texts.items()}},
)


def code_of(code: Code) -> Any:
    """The schema's `ErrorCode` value of a domain error's code."""
    return AnyErrorCode(code.value)


@strawberry.type(description="A problem with a mutation's input or with the record it targets; nothing was changed.")
class UserError:
    field: str | None = strawberry.field(description="The input field at fault (camelCase), if one is.")
    code: ErrorCodeType = strawberry.field(description="What kind of problem it is.")
    message: str = strawberry.field(description="A sentence for the person at the keyboard.")


def user_errors(errors: list[FieldError]) -> list[UserError]:
    return [UserError(field=e.field, code=code_of(e.code), message=e.message) for e in errors]


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
