"""Operation limits and error masking applied to every GraphQL operation."""

from __future__ import annotations

import logging
from collections.abc import Callable

from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from api.graphql.errors import is_expected

log = logging.getLogger("crm.graphql")

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 4000


class MaskUnexpectedErrors(MaskErrors):
    """Replace unexpected errors by "Unexpected error." with a request id; log the detail under that id."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda e: not is_expected(e))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = getattr(self.execution_context, "context", None)
        request_id = getattr(context, "request_id", None)
        log.error("request %s: unexpected error at %s", request_id, error.path, exc_info=error.original_error or error)
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL", "requestId": request_id}
        return masked


def extensions() -> list[SchemaExtension | Callable[[], SchemaExtension] | type[SchemaExtension]]:
    """The extensions every schema instance runs with, in order."""
    return [
        ParserCache(maxsize=512),
        ValidationCache(maxsize=512),
        QueryDepthLimiter(max_depth=MAX_DEPTH),
        MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        MaxTokensLimiter(max_token_count=MAX_TOKENS),
        MaskUnexpectedErrors,
    ]
