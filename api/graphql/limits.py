"""Operation limits, error masking and error logging applied to every GraphQL operation."""

from __future__ import annotations

import logging
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    ListValueNode,
    ObjectValueNode,
    StringValueNode,
    VariableDefinitionNode,
    Visitor,
    visit,
)
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from api.graphql.budgets import QueryBudget
from api.graphql.errors import BadInput, is_expected
from api.graphql.text_input import StorableTextArguments
from api.graphql.unavailable import DatabaseUnavailableErrors
from domain.shared.errors import ErrorCode, FieldError, ValidationFailed

log = logging.getLogger("crm.graphql")

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 4000
# The longest text the CRM keeps (an activity's or a deal's notes); no text input may be longer, whatever field it
# is for. Fields with shorter rules (names, searches) refuse more.
MAX_TEXT_LENGTH = 20_000
MAX_TEXT_ERRORS = 10


def masked(error: GraphQLError, request_id: str | None) -> GraphQLError:
    """An unexpected error as a client sees it: "Unexpected error." at its place, with the request id under which
    its detail is logged."""
    log.error("request %s: unexpected error at %s", request_id, error.path, exc_info=error.original_error or error)
    return GraphQLError(
        "Unexpected error.",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": "INTERNAL", "requestId": request_id},
    )


class MaskUnexpectedErrors(MaskErrors):
    """Replace unexpected errors by "Unexpected error." with a request id; log the detail under that id."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda e: not is_expected(e))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = getattr(self.execution_context, "context", None)
        return masked(error, getattr(context, "request_id", None))


class _Arguments(Visitor):
    """Collects every argument value and variable default written in a document, with its name."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, Any]] = []

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        self.values.append((node.name.value, node.value))

    def enter_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> None:
        if node.default_value is not None:
            self.values.append((f"${node.variable.name.value}", node.default_value))


# The argument values written in recently seen documents (the parser cache hands out the same document object
# for the same text), so a document is walked once, not once per request.
_WRITTEN: OrderedDict[int, tuple[DocumentNode, list[tuple[str, Any]]]] = OrderedDict()
_WRITTEN_KEPT = 1024


def _written_arguments(document: DocumentNode) -> list[tuple[str, Any]]:
    found = _WRITTEN.get(id(document))
    if found is not None and found[0] is document:
        _WRITTEN.move_to_end(id(document))
        return found[1]
    arguments = _Arguments()
    visit(document, arguments)
    _WRITTEN[id(document)] = (document, arguments.values)
    if len(_WRITTEN) > _WRITTEN_KEPT:
        _WRITTEN.popitem(last=False)
    return arguments.values


def long_texts(document: DocumentNode, variables: dict[str, Any] | None) -> Iterator[tuple[str, int]]:
    """Where the operation holds text longer than MAX_TEXT_LENGTH, and how long: `input.notes`, `$input.notes`."""
    written = _written_arguments(document)
    return _long_texts([*written, *((f"${k}", v) for k, v in (variables or {}).items())])


def long_variable_texts(variables: dict[str, Any] | None) -> Iterator[tuple[str, int]]:
    """`long_texts` of the variables alone: for a document whose written values were found short once, which no
    request can change (a kept mutation's, api/graphql/compiled/kept_mutations.py)."""
    return _long_texts([(f"${k}", v) for k, v in (variables or {}).items()])


def _long_texts(stack: list[tuple[str, Any]]) -> Iterator[tuple[str, int]]:
    while stack:  # a loop, not recursion: the client chooses how deep its input nests
        at, item = stack.pop()
        if isinstance(item, StringValueNode):
            item = item.value
        if isinstance(item, str):
            if len(item) > MAX_TEXT_LENGTH:
                yield at, len(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and len(key) > MAX_TEXT_LENGTH:
                    yield at, len(key)
                stack.append((f"{at}.{str(key)[:100]}", child))
        elif isinstance(item, list):
            stack.extend((f"{at}[{index}]", child) for index, child in enumerate(item))
        elif isinstance(item, ObjectValueNode):
            stack.extend((f"{at}.{field.name.value}", field.value) for field in item.fields)
        elif isinstance(item, ListValueNode):
            stack.extend((f"{at}[{index}]", child) for index, child in enumerate(item.values))


class MaxTextLength(SchemaExtension):
    """Refuse, before anything runs, an operation holding text longer than MAX_TEXT_LENGTH, naming where it is."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            problems = []
            for at, length in long_texts(context.graphql_document, context.variables):
                message = f"{at} is {length} characters long; text inputs take at most {MAX_TEXT_LENGTH}."
                problems.append(BadInput(ValidationFailed([FieldError(at, ErrorCode.TOO_LONG, message)])))
                if len(problems) == MAX_TEXT_ERRORS:
                    break
            if problems:
                # Setting the errors before validation runs is strawberry's way for an extension to fail it.
                context.pre_execution_errors = [*(context.pre_execution_errors or []), *problems]
        yield


SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class HideSuggestions(SchemaExtension):
    """Take graphql-core's "Did you mean …?" hints out of every error: fields, arguments, types, enum values, inputs."""

    def on_operation(self) -> Iterator[None]:
        yield
        for error in getattr(self.execution_context.result, "errors", None) or []:
            if "Did you mean" in error.message:
                error.message = SUGGESTION.sub("", error.message)


def log_errors(errors: list[GraphQLError], request_id: str | None) -> list[GraphQLError]:
    """Log a request's expected errors in one line at INFO; return the unexpected ones, which deserve a traceback.

    Expected errors (refused fields, bad arguments, invalid documents) are the client's business: one query
    asking for an internal-only field on a thousand rows is one line here, not a thousand tracebacks.
    """
    # A database outage is logged once for all requests (api/resilience.py), not once per request here.
    expected = [e for e in errors if is_expected(e) and (e.extensions or {}).get("code") != "SERVICE_UNAVAILABLE"]
    if expected:
        codes = Counter(str((e.extensions or {}).get("code", "GRAPHQL")) for e in expected)
        first = expected[0]
        where = ".".join(str(p) for p in first.path) if first.path else None
        log.info(
            "request %s: %d expected error(s) %s; first at %s: %s",
            request_id,
            len(expected),
            dict(codes),
            where,
            first.message[:200],
        )
    return [e for e in errors if not is_expected(e)]


def extensions(
    *, production: bool = False
) -> list[SchemaExtension | Callable[[], SchemaExtension] | type[SchemaExtension]]:
    """The extensions every schema instance runs with, in order; production also hides suggestions."""
    return [
        ParserCache(maxsize=512),
        ValidationCache(maxsize=512),
        MaxTextLength,  # after the validation cache, whose cached result it adds to
        QueryDepthLimiter(max_depth=MAX_DEPTH),
        MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        MaxTokensLimiter(max_token_count=MAX_TOKENS),
        QueryBudget,  # after the limits above: cost is priced only for a document they let through
        MaskUnexpectedErrors,
        DatabaseUnavailableErrors,
        StorableTextArguments,
        *([HideSuggestions] if production else []),
    ]
