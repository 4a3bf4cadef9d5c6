"""Optimistic concurrency in the schema: the `version` of records people edit together and `expectedVersion`.

A GraphQL request may carry several mutations, so a precondition belongs to each mutation's input, not to an
HTTP header: the client sends back the version it read as `expectedVersion`. Left out, nothing is checked and
the last write wins (older clients keep working).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry

VERSION_DESCRIPTION = (
    "How many times the record has been changed (1 when created). Send it back as expectedVersion with a change: "
    "a change made from an older version is refused and writes nothing."
)
EXPECTED_VERSION_DESCRIPTION = (
    "The version of the record you read. If it was changed since, nothing is written and the errors say "
    "CONFLICT: one on this field, one on each field changed meanwhile; read it again and redo your change. "
    "Left out, nothing is checked and the last write wins."
)
EDIT_VERSION_DESCRIPTION = (
    "How many times this revision has been changed (1 when created; `version` is the revision number). Send it "
    "back as expectedEditVersion with a change: a change made from an older one is refused and writes nothing."
)
EXPECTED_EDIT_VERSION_DESCRIPTION = (
    "The editVersion of the quote you read. If it was changed since, nothing is written and the errors say "
    "CONFLICT: one on this argument, one on each field changed meanwhile. Left out, the last write wins."
)


def expected_version_field() -> Any:
    """The optional `expectedVersion` field of an update mutation's input."""
    return strawberry.field(default=None, description=EXPECTED_VERSION_DESCRIPTION)


# HTTP preconditions a client may send hoping for the check `expectedVersion` makes; GraphQL does not evaluate them.
PRECONDITION_HEADERS = ("if-match", "if-unmodified-since")


def refused_precondition(headers: Mapping[str, str]) -> str | None:
    """Why a request carrying an HTTP precondition is refused, or None when it carries none.

    Ignoring one would let a client believe its write was guarded when it was not, so it is refused before
    anything runs: the version goes in each mutation's input instead.
    """
    sent = [name for name in PRECONDITION_HEADERS if name in headers]
    if not sent:
        return None
    return (
        f"The {'If-Match' if sent[0] == 'if-match' else 'If-Unmodified-Since'} header is not used by /graphql "
        "(one request may carry many mutations): send the version you read as expectedVersion in the mutation's "
        "input (expectedEditVersion for quotes). Nothing was run."
    )
