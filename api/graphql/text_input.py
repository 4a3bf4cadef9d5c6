"""Every string argument of every field is checked once, here, before any resolver sees it.

A NUL character or a lone surrogate anywhere in a field's arguments (inline or through variables,
inside input objects and lists, in IDs, searches and cursors alike) is refused with a GraphQL error
whose `extensions` carry code INVALID and the argument's path, e.g. `input.interests[0]`; the
resolver does not run, so nothing is read or changed with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo
from strawberry.extensions import SchemaExtension

from api.graphql.errors import BadInput
from domain.shared.errors import ErrorCode, FieldError, ValidationFailed
from domain.shared.text import first_unstorable


class StorableTextArguments(SchemaExtension):
    """Refuse a field whose arguments hold text PostgreSQL cannot store, naming the argument."""

    def resolve(self, _next: Callable[..., Any], root: Any, info: GraphQLResolveInfo, *args: Any, **kwargs: Any) -> Any:
        if kwargs and (found := first_unstorable(kwargs)) is not None:
            path, reason = found
            raise BadInput(ValidationFailed([FieldError(path, ErrorCode.INVALID, f"{path} {reason}.")]))
        return _next(root, info, *args, **kwargs)
